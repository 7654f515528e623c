import Foundation

/// The one place that turns what happened into rollup changes, fed live by `MetricsReaction` (from the domain's
/// changes) and again by `MetricsRebuild` (from the event log), so both always agree.
public enum MetricRecorder {
    /// What a conversation must remember between happenings: how many times an agent answered a waiting customer,
    /// its first resolution, and where that resolution was counted as first-contact while it can still be taken back.
    public struct State: Sendable, Equatable {
        public var responseCount = 0
        public var firstResolvedAt: Date?
        public var fcrAt: Date?
        public var fcrDims: String?
        public init() {}
    }

    /// Whether a change hands a conversation nobody answered yet from one team to another.
    public static func derives(before: UUID?, after: ConversationSnapshot) -> Bool {
        before != nil && after.teamID != nil && before != after.teamID && after.firstResponseAt == nil
    }

    /// A first-contact resolution stops counting if the customer comes back within this time.
    public static let fcrWindow: TimeInterval = 7 * 86_400

    public enum Happening: Sendable {
        case created(MetricDims, at: Date)
        /// Resolved (or closed) from an active status; `createdAt` is the conversation's.
        case resolved(MetricDims, at: Date, createdAt: Date)
        /// Back from resolved: the customer wrote, or a person reopened it.
        case reopened(MetricDims, at: Date)
        /// An agent's public reply; `waitedSince` when it ended the customer's wait, `first` when it is the first answer.
        case replied(MetricDims, at: Date, waitedSince: Date?, first: Bool, createdAt: Date)
        /// A survey's answer (or its change, from `previous`), counted in the hour it was sent.
        case surveyAnswered(MetricDims, kind: Survey.Kind, score: Int, previous: Int?, sentAt: Date)
        case slaBreach(MetricDims, clock: Int, at: Date)
        /// Handed from one team to another before the first answer.
        case derived(MetricDims, at: Date)
        /// Became active (+1) or stopped being (−1): opened, reopened by anyone, resolved, closed.
        case backlog(MetricDims, by: Int64, at: Date)
        /// An agent (the dims' agent) worked on it this long, ending now.
        case handled(MetricDims, seconds: Double, at: Date)
    }

    /// `hours` gives an inbox's business hours (nil: always open), for the times counted in business hours.
    public static func apply(_ happening: Happening, workspace: UUID, conversation: UUID, state: inout State, to deltas: inout MetricDeltas,
                             hours: (UUID) -> BusinessHours? = { _ in nil }) {
        // A time, in calendar seconds and in the inbox's open seconds.
        func time(_ metric: Metric, from start: Date, to end: Date, _ dims: MetricDims) {
            deltas.time(metric, end.timeIntervalSince(start), dims, workspace: workspace, conversation: conversation, at: end)
            if let business = metric.business {
                let open = hours(dims.inbox).map { $0.openSeconds(from: start, to: end) } ?? end.timeIntervalSince(start)
                deltas.time(business, open, dims, workspace: workspace, conversation: conversation, at: end)
            }
        }
        switch happening {
        case .created(let dims, let at):
            deltas.count(.created, dims, workspace: workspace, conversation: conversation, at: at)
        case .resolved(let dims, let at, let createdAt):
            deltas.count(.resolved, dims, workspace: workspace, conversation: conversation, at: at)
            time(.resolution, from: createdAt, to: at, dims)
            if state.firstResolvedAt == nil {
                state.firstResolvedAt = at
                if state.responseCount == 1 {
                    deltas.count(.fcr, dims, workspace: workspace, conversation: conversation, at: at)
                    state.fcrAt = at
                    state.fcrDims = dims.encoded
                }
            }
        case .reopened(let dims, let at):
            deltas.count(.reopened, dims, workspace: workspace, conversation: conversation, at: at)
            if let fcrAt = state.fcrAt {
                if at.timeIntervalSince(fcrAt) <= fcrWindow, let counted = state.fcrDims.flatMap(MetricDims.init(encoded:)) {
                    deltas.count(.fcr, counted, workspace: workspace, conversation: conversation, at: fcrAt, by: -1)
                }
                state.fcrAt = nil
                state.fcrDims = nil
            }
        case .replied(let dims, let at, let waitedSince, let first, let createdAt):
            deltas.count(.replies, dims, workspace: workspace, conversation: conversation, at: at)
            guard let waitedSince else { return }
            state.responseCount += 1
            if first {
                time(.firstResponse, from: createdAt, to: at, dims)
            } else {
                time(.nextResponse, from: waitedSince, to: at, dims)
            }
        case .surveyAnswered(let dims, let kind, let score, let previous, let sentAt):
            if let previous { survey(kind, previous, dims, workspace: workspace, conversation: conversation, at: sentAt, by: -1, to: &deltas) }
            survey(kind, score, dims, workspace: workspace, conversation: conversation, at: sentAt, by: 1, to: &deltas)
        case .slaBreach(let dims, let clock, let at):
            deltas.count(.slaBreaches, dims, workspace: workspace, conversation: conversation, at: at, bucket: clock)
        case .derived(let dims, let at):
            deltas.count(.derived, dims, workspace: workspace, conversation: conversation, at: at)
        case .backlog(let dims, let n, let at):
            deltas.count(.backlog, dims, workspace: workspace, conversation: conversation, at: at, by: n)
        case .handled(let dims, let seconds, let at):
            deltas.time(.handle, seconds, dims, workspace: workspace, conversation: conversation, at: at)
        }
    }

    private static func survey(_ kind: Survey.Kind, _ score: Int, _ dims: MetricDims, workspace: UUID, conversation: UUID, at: Date, by n: Int64,
                               to deltas: inout MetricDeltas) {
        switch kind {
        case .csat:
            deltas.count(.csatAnswers, dims, workspace: workspace, conversation: conversation, at: at, by: n, bucket: score)
            if score >= 4 { deltas.count(.csatSatisfied, dims, workspace: workspace, conversation: conversation, at: at, by: n) }
        case .nps:
            deltas.count(.npsAnswers, dims, workspace: workspace, conversation: conversation, at: at, by: n, bucket: score)
            if score >= 9 { deltas.count(.npsPromoters, dims, workspace: workspace, conversation: conversation, at: at, by: n) }
            if score <= 6 { deltas.count(.npsDetractors, dims, workspace: workspace, conversation: conversation, at: at, by: n) }
        }
    }

    /// Only the happenings that read or change a conversation's state need it loaded.
    public static func needsState(_ happening: Happening) -> Bool {
        switch happening {
        case .resolved, .reopened, .replied: true
        case .created, .surveyAnswered, .slaBreach, .derived, .backlog, .handled: false
        }
    }
}

extension ConversationClocks.Kind {
    /// The clock's number in `sla_breaches` rollups.
    public var metricBucket: Int {
        switch self {
        case .firstResponse: 0
        case .nextResponse: 1
        case .resolution: 2
        }
    }
}

extension MetricRecorder.Happening {
    /// The inbox whose business hours its times are counted in (the happenings that measure a time).
    var inbox: UUID? {
        switch self {
        case .resolved(let dims, _, _), .replied(let dims, _, _, _, _): dims.inbox
        default: nil
        }
    }
}
