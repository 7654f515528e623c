import FluentKit
import Foundation
import SQLKit

/// `atiende metrics rebuild`: the rollups computed again from the event log, through the same `MetricRecorder` the
/// live recording uses. Events are read page by page; the last ones, and the swap of the rollups, in one transaction
/// holding the workspace's lock, so nothing recorded meanwhile is lost or counted twice.
public enum MetricsRebuild {
    /// The happenings of a logged call or visit: opened, and resolved at once when it was.
    static func logged(_ c: ConversationSnapshot) -> [MetricRecorder.Happening] {
        var happenings: [MetricRecorder.Happening] = [.created(MetricDims(c), at: c.createdAt)]
        if [.resolved, .closed].contains(c.status) { happenings.append(.resolved(MetricDims(c), at: c.createdAt, createdAt: c.createdAt)) }
        else { happenings.append(.backlog(MetricDims(c), by: 1, at: c.createdAt)) }
        return happenings
    }

    /// What the replay remembers of each conversation between its events: only what later events need of it (a
    /// million conversations are held at once).
    struct Tracked {
        var dims: MetricDims
        var waitingSince: Date?
        var firstResponseAt: Date?
        var state = MetricRecorder.State()

        init(_ c: ConversationSnapshot) {
            dims = MetricDims(c)
            waitingSince = c.waitingSince
            firstResponseAt = c.firstResponseAt
        }

        mutating func update(_ c: ConversationSnapshot) {
            dims = MetricDims(c)
            waitingSince = c.waitingSince
            firstResponseAt = c.firstResponseAt
        }
    }

    /// One replay, read in pages and finished in the write: a class, so its dictionaries are never copied.
    final class Replay: @unchecked Sendable {
        let workspace: UUID
        /// The inboxes' business hours as they are now (the log does not keep what they were).
        var hours: [UUID: BusinessHours?] = [:]
        var conversations: [UUID: Tracked] = [:]
        var scores: [UUID: Int] = [:]
        var deltas = MetricDeltas()
        var lastSeq: Int64 = 0
        var count = 0

        init(workspace: UUID) { self.workspace = workspace }

        func apply(_ happening: MetricRecorder.Happening, _ id: UUID) {
            var state = conversations[id]?.state ?? MetricRecorder.State()
            let hours = self.hours
            MetricRecorder.apply(happening, workspace: workspace, conversation: id, state: &state, to: &deltas, hours: { hours[$0] ?? nil })
            conversations[id]?.state = state
        }

        func replay(_ event: Event) {
            lastSeq = event.seq
            count += 1
            let at = event.createdAt
            guard let type = EventType(rawValue: event.type) else { return }
            switch type {
            case .conversationCreated:
                guard let c = JSON.decode(ConversationEventPayload.self, from: event.payload)?.conversation else { return }
                conversations[c.id] = Tracked(c)
                if [.phone, .inPerson].contains(c.channel), c.firstResponseAt != nil {
                    for happening in MetricsRebuild.logged(c) { apply(happening, c.id) }
                } else {
                    apply(.created(MetricDims(c), at: at), c.id)
                    apply(.backlog(MetricDims(c), by: 1, at: at), c.id)
                }
            case .conversationReopened, .conversationResolved, .conversationStatusChanged, .conversationUpdated, .conversationAssigned:
                guard let payload = JSON.decode(ConversationEventPayload.self, from: event.payload) else { return }
                let c = payload.conversation
                let before = payload.changes?["status"].flatMap(ConversationStatus.init(rawValue:))
                conversations[c.id, default: Tracked(c)].update(c)
                // `team_id` in the changes is the team it had before ("" for none).
                if let team = payload.changes?["team_id"], MetricRecorder.derives(before: UUID(uuidString: team), after: c) {
                    apply(.derived(MetricDims(c), at: at), c.id)
                }
                guard let before else { return }
                let done: Set<ConversationStatus> = [.resolved, .closed]
                if done.contains(before) != done.contains(c.status) {
                    apply(.backlog(MetricDims(c), by: done.contains(c.status) ? -1 : 1, at: at), c.id)
                }
                if !done.contains(before), done.contains(c.status) {
                    apply(.resolved(MetricDims(c), at: at, createdAt: c.createdAt), c.id)
                } else if before == .resolved, !done.contains(c.status), type == .conversationReopened || event.actorID != nil {
                    // The customer wrote (ingest says reopened), or a person reopened it.
                    apply(.reopened(MetricDims(c), at: at), c.id)
                }
            case .messageCreated:
                guard let payload = JSON.decode(MessageEventPayload.self, from: event.payload) else { return }
                let c = payload.conversation, m = payload.message
                let previous = conversations[c.id]
                conversations[c.id, default: Tracked(c)].update(c)
                // A logged call's own message is part of its logging.
                if [.phone, .inPerson].contains(c.channel), m.createdAt == c.createdAt { return }
                guard m.kind == .outgoing, m.senderType == .agent, let author = m.senderID else { return }
                apply(.replied(MetricDims(c, agent: .some(author)), at: m.createdAt, waitedSince: previous?.waitingSince,
                               first: previous?.firstResponseAt == nil && c.firstResponseAt != nil, createdAt: c.createdAt), c.id)
            case .surveyAnswered:
                guard let survey = JSON.decode(SurveyEventPayload.self, from: event.payload)?.survey, let score = survey.score,
                      let sent = survey.sentAt else { return }
                apply(.surveyAnswered(MetricDims(survey), kind: survey.kind, score: score, previous: scores[survey.id], sentAt: sent),
                      survey.conversationID)
                scores[survey.id] = score
            case .conversationWorked:
                guard let work = JSON.decode(HandleTime.Payload.self, from: event.payload) else { return }
                apply(.handled(MetricDims(work.conversation, agent: .some(work.agentID)), seconds: work.seconds, at: at), work.conversation.id)
            case .slaBreached:
                guard let id = event.conversationID, let dims = conversations[id]?.dims,
                      let alert = JSON.decode(ServiceLevelScanner.AlertPayload.self, from: event.payload) else { return }
                apply(.slaBreach(dims, clock: alert.clock.metricBucket, at: at), id)
            default:
                return
            }
        }
    }

    /// Rebuilds one workspace's rollups; returns how many events were read.
    @discardableResult
    public static func run(workspace: UUID, store: Store, pageSize: Int = 5_000) async throws -> Int {
        let replay = Replay(workspace: workspace)
        for inbox in try await Inbox.query(on: store.db).filter(\.$workspace.$id == workspace).all() {
            replay.hours[try inbox.requireID()] = inbox.businessHours
        }
        while true {
            let page = try await EventLog.after(replay.lastSeq, workspace: workspace, limit: pageSize, on: store.db)
            for event in page { replay.replay(event) }
            if page.count < pageSize { break }
        }
        return try await store.write { tx in
            try await tx.lockWorkspace(workspace)
            while true {
                let page = try await EventLog.after(replay.lastSeq, workspace: workspace, limit: pageSize, on: tx.db)
                for event in page { replay.replay(event) }
                if page.count < pageSize { break }
            }
            try await tx.sql.raw("DELETE FROM metric_rollups WHERE workspace_id = \(bind: workspace)").run()
            try await tx.sql.raw("DELETE FROM metric_cubes WHERE workspace_id = \(bind: workspace)").run()
            try await tx.sql.raw("DELETE FROM metric_facts WHERE workspace_id = \(bind: workspace)").run()
            try await tx.sql.raw("DELETE FROM metric_compaction WHERE workspace_id = \(bind: workspace)").run()
            try await tx.sql.raw("""
                UPDATE conversations SET response_count = 0, first_resolved_at = NULL, fcr_at = NULL, fcr_dims = NULL
                WHERE workspace_id = \(bind: workspace)
                """).run()
            let untouched = MetricRecorder.State()
            try await MetricStates.save(replay.conversations.lazy.filter { $0.value.state != untouched }.map { ($0.key, $0.value.state) }, on: tx.sql)
            try await replay.deltas.write(in: tx)
            try await MetricCubes.compact(workspace, through: MetricCubes.target(now: tx.now), in: tx)
            return replay.count
        }
    }
}
