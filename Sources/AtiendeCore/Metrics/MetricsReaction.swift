import FluentKit
import Foundation
import SQLKit

/// Records the metrics of every change in the transaction that made it: the happenings of all changes together, the
/// state of only the conversations that need it read in one query, and one upsert of the rollups.
public struct MetricsReaction: Reaction {
    public init() {}

    public func react(to changes: [DomainChange], in tx: WriteTransaction) async throws {
        var happenings: [(workspace: UUID, conversation: UUID, happening: MetricRecorder.Happening)] = []
        let now = tx.now
        for change in changes {
            switch change {
            case .messagesReceived(let arrivals):
                for arrival in arrivals {
                    guard let c = arrival.conversation else { continue }
                    if arrival.opened {
                        happenings.append((arrival.workspaceID, c.id, .created(MetricDims(c), at: now)))
                        happenings.append((arrival.workspaceID, c.id, .backlog(MetricDims(c), by: 1, at: now)))
                    }
                    if !arrival.automatic, arrival.previousStatus == .resolved {
                        happenings.append((arrival.workspaceID, c.id, .reopened(MetricDims(c), at: now)))
                        happenings.append((arrival.workspaceID, c.id, .backlog(MetricDims(c), by: 1, at: now)))
                    }
                }
            case .conversationChanged(let change) where change.statusChanged || change.teamChanged:
                let done: Set<ConversationStatus> = [.resolved, .closed]
                let c = change.after
                if change.teamChanged, MetricRecorder.derives(before: change.before.teamID, after: c) {
                    happenings.append((change.workspaceID, c.id, .derived(MetricDims(c), at: now)))
                }
                guard change.statusChanged else { continue }
                if done.contains(change.before.status) != done.contains(c.status) {
                    happenings.append((change.workspaceID, c.id, .backlog(MetricDims(c), by: done.contains(c.status) ? -1 : 1, at: now)))
                }
                if !done.contains(change.before.status), done.contains(c.status) {
                    happenings.append((change.workspaceID, c.id, .resolved(MetricDims(c), at: now, createdAt: c.createdAt)))
                } else if change.before.status == .resolved, !done.contains(c.status), change.actor != nil {
                    happenings.append((change.workspaceID, c.id, .reopened(MetricDims(c), at: now)))
                }
            case .replied(let reply):
                guard let author = reply.author, reply.message.kind == .outgoing else { continue }
                let c = reply.conversation
                // At the reply's own time, which its event carries too: a rebuild from the events measures the same wait.
                happenings.append((reply.workspaceID, c.id, .replied(MetricDims(c, agent: .some(author)), at: reply.message.createdAt,
                                                                     waitedSince: reply.waitedSince,
                                                                     first: reply.firstResponse, createdAt: c.createdAt)))
            case .contactLogged(let id, let workspace, _):
                guard let c = try await Conversation.query(on: tx.db).filter(\.$workspace.$id == workspace).filter(\.$id == id).first()?.snapshot
                else { continue }
                happenings += MetricsRebuild.logged(c).map { (workspace, id, $0) }
            case .surveyAnswered(let answer):
                let survey = answer.survey
                guard let score = survey.score, let sent = survey.sentAt else { continue }
                happenings.append((answer.workspaceID, survey.conversationID, .surveyAnswered(MetricDims(survey), kind: survey.kind, score: score,
                                                                                     previous: answer.previousScore, sentAt: sent)))
            case .serviceLevelAlert(let alert) where alert.alert == .breach:
                let subject = alert.subject
                guard let c = try await Conversation.query(on: tx.db).filter(\.$workspace.$id == subject.workspaceID)
                    .filter(\.$id == subject.id).first()?.snapshot else { continue }
                happenings.append((subject.workspaceID, subject.id, .slaBreach(MetricDims(c), clock: alert.clock.metricBucket, at: now)))
            case .worked(let work):
                happenings.append((work.workspaceID, work.conversation.id,
                                   .handled(MetricDims(work.conversation, agent: .some(work.agent)), seconds: work.seconds, at: now)))
            default:
                continue
            }
        }
        guard !happenings.isEmpty else { return }
        let stateful = Set(happenings.filter { MetricRecorder.needsState($0.happening) }.map(\.conversation))
        var states = try await MetricStates.load(Array(stateful), on: tx.sql)
        let loaded = states
        var deltas = MetricDeltas()
        let hours = try await MetricStates.businessHours(of: Set(happenings.compactMap { $0.happening.inbox }), on: tx.db)
        for entry in happenings {
            var state = states[entry.conversation] ?? MetricRecorder.State()
            MetricRecorder.apply(entry.happening, workspace: entry.workspace, conversation: entry.conversation, state: &state, to: &deltas, hours: { hours[$0] ?? nil })
            if stateful.contains(entry.conversation) { states[entry.conversation] = state }
        }
        try await MetricStates.save(states.lazy.filter { loaded[$0.key] != $0.value }.map { ($0.key, $0.value) }, on: tx.sql)
        try await deltas.write(in: tx)
    }
}

extension MetricDims {
    /// A survey's answer belongs to whoever handled the conversation when it was sent.
    init(_ survey: SurveySnapshot) {
        self.init(inbox: survey.inboxID, channel: survey.channel, team: survey.teamID, agent: survey.agentID, reason: survey.contactReason)
    }
}

/// Conversations' metric state, kept on their rows (`response_count`, `first_resolved_at`, `fcr_at`, `fcr_dims`).
enum MetricStates {
    /// The business hours of these inboxes (nil: always open).
    static func businessHours(of inboxes: Set<UUID>, on db: any Database) async throws -> [UUID: BusinessHours?] {
        guard !inboxes.isEmpty else { return [:] }
        var hours: [UUID: BusinessHours?] = [:]
        for inbox in try await Inbox.query(on: db).filter(\.$id ~~ inboxes).field(\.$id).field(\.$businessHoursJSON).all() {
            hours[try inbox.requireID()] = inbox.businessHours
        }
        return hours
    }

    static func load(_ ids: [UUID], on sql: any SQLDatabase) async throws -> [UUID: MetricRecorder.State] {
        guard !ids.isEmpty else { return [:] }
        var states: [UUID: MetricRecorder.State] = [:]
        for chunk in ids.chunked(500) {
            for row in try await sql.raw("""
                SELECT id, response_count, first_resolved_at, fcr_at, fcr_dims FROM conversations WHERE id IN (\(IngestBatch.list(chunk)))
                """).all() {
                var state = MetricRecorder.State()
                state.responseCount = try row.decode(column: "response_count", as: Int.self)
                state.firstResolvedAt = try row.decode(column: "first_resolved_at", as: Date?.self)
                state.fcrAt = try row.decode(column: "fcr_at", as: Date?.self)
                state.fcrDims = try row.decode(column: "fcr_dims", as: String?.self)
                states[try row.decode(column: "id", as: UUID.self)] = state
            }
        }
        return states
    }

    /// Writes the states, a few hundred conversations to a statement (PostgreSQL is told the values' types, which a
    /// list of bound values does not carry).
    static func save(_ states: some Sequence<(UUID, MetricRecorder.State)>, on sql: any SQLDatabase) async throws {
        let typed = sql.dialect.name == "postgresql"
        func value(_ bound: SQLQueryString, _ type: String) -> SQLQueryString { typed ? "CAST(" + bound + " AS \(unsafeRaw: type))" : bound }
        try await states.forEachChunk(180) { chunk in
            let rows: [SQLQueryString] = chunk.map { id, state in
                "(" + value("\(bind: id)", "uuid") + ", " + value("\(bind: state.responseCount)", "integer") + ", "
                    + value("\(bind: state.firstResolvedAt)", "timestamptz") + ", " + value("\(bind: state.fcrAt)", "timestamptz") + ", "
                    + value("\(bind: state.fcrDims)", "text") + ")"
            }
            try await sql.raw("""
                WITH v(id, n, r, f, d) AS (VALUES \(rows.joined(separator: ", ")))
                UPDATE conversations SET response_count = v.n, first_resolved_at = v.r, fcr_at = v.f, fcr_dims = v.d
                FROM v WHERE conversations.id = v.id
                """).run()
        }
    }
}
