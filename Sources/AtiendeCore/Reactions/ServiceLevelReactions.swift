import FluentKit
import Foundation
import SQLKit

/// Which of these inboxes have a service-level policy (their own or the workspace's default) and which have automatic
/// answers: one query per transaction, shared by the reactions that need it. Most inboxes have neither.
struct InboxAutomation: Sendable {
    var withPolicy: Set<UUID> = []
    var withAutoReplies: Set<UUID> = []

    static func of(_ inboxes: Set<UUID>, in tx: WriteTransaction) async throws -> InboxAutomation {
        guard !inboxes.isEmpty else { return InboxAutomation() }
        let key = "inbox-automation:" + inboxes.map(\.uuidString).sorted().joined(separator: ",")
        return try await tx.memo(key) {
            let rows = try await tx.sql.raw("""
                SELECT i.id,
                       CASE WHEN i.sla_policy_id IS NOT NULL
                                 OR EXISTS (SELECT 1 FROM sla_policies p WHERE p.workspace_id = i.workspace_id AND p.is_default)
                            THEN 1 ELSE 0 END AS has_policy,
                       CASE WHEN i.auto_replies IS NOT NULL THEN 1 ELSE 0 END AS has_answers
                FROM inboxes i
                WHERE i.id IN (\(inboxes.map { "\(bind: $0)" as SQLQueryString }.joined(separator: ", ")))
                  AND (i.sla_policy_id IS NOT NULL OR i.auto_replies IS NOT NULL
                       OR EXISTS (SELECT 1 FROM sla_policies p WHERE p.workspace_id = i.workspace_id AND p.is_default))
                """).all()
            var automation = InboxAutomation()
            for row in rows {
                let id = try row.decode(column: "id", as: UUID.self)
                if try row.decode(column: "has_policy", as: Int.self) == 1 { automation.withPolicy.insert(id) }
                if try row.decode(column: "has_answers", as: Int.self) == 1 { automation.withAutoReplies.insert(id) }
            }
            return automation
        }
    }
}

/// Keeps the service-level clocks and deadlines of every conversation a change touches.
struct ServiceLevelClocksReaction: Reaction {
    /// What a change asks of one conversation's clocks; status and targets are read from the conversation as it is now.
    enum Request: Sendable {
        case fixed([ConversationClocks.Change])
        case currentStatus
        case currentTargets
    }

    func react(to changes: [DomainChange], in tx: WriteTransaction) async throws {
        let now = tx.now
        var requests: [UUID: [Request]] = [:]
        var order: [UUID] = []
        func add(_ id: UUID, _ request: Request...) {
            if requests[id] == nil { order.append(id) }
            requests[id, default: []] += request
        }
        for change in changes {
            switch change {
            case .messagesReceived(let arrivals):
                // Inboxes without a policy or automatic answers keep no clocks: nothing to do for them.
                let automation = try await InboxAutomation.of(Set(arrivals.map(\.inboxID)), in: tx)
                // Automatic mail joining a conversation is not the customer's: the clocks do not move.
                for arrival in arrivals where (automation.withPolicy.contains(arrival.inboxID) || automation.withAutoReplies.contains(arrival.inboxID))
                    && (arrival.opened || !arrival.automatic) {
                    add(arrival.conversationID, .fixed(arrival.opened ? [.opened(at: now), .customerMessage(at: now)]
                        : (arrival.reopened ? [.status(.open, at: now)] : []) + [.customerMessage(at: now)]))
                }
            case .conversationChanged(let change):
                if change.statusChanged { add(change.after.id, .currentStatus) }
                if change.priorityChanged || change.teamChanged { add(change.after.id, .currentTargets) }
            case .replied(let reply):
                add(reply.conversation.id, .fixed([.answer(at: now, byPerson: reply.author != nil)]))
            case .contactLogged(let id, _, let resolved):
                add(id, .fixed([.opened(at: now), .answer(at: now, byPerson: true)] + (resolved ? [.status(.resolved, at: now)] : [])))
            case .noteAdded, .serviceLevelAlert, .surveyAnswered, .worked:
                break
            }
        }
        guard !order.isEmpty else { return }
        try await ServiceLevels.update(order, in: tx) { subject in
            (requests[subject.id] ?? []).flatMap { request -> [ConversationClocks.Change] in
                switch request {
                case .fixed(let changes): changes
                case .currentStatus: [.status(subject.status, at: now)]
                case .currentTargets: [.retarget(subject.targets, at: now)]
                }
            }
        }
    }
}

/// The inbox's automatic first answer (or after-hours, or busy answer) for each new conversation, and the supervisors'
/// alert when unassigned conversations cross the inbox's capacity.
struct AutomaticAnswersReaction: Reaction {
    func react(to changes: [DomainChange], in tx: WriteTransaction) async throws {
        let arrivals = changes.flatMap { change -> [DomainChange.Arrival] in
            if case .messagesReceived(let arrivals) = change { return arrivals.filter { $0.opened && !$0.automatic } }
            return []
        }
        guard !arrivals.isEmpty else { return }
        let automation = try await InboxAutomation.of(Set(arrivals.map(\.inboxID)), in: tx)
        let answered = arrivals.filter { automation.withAutoReplies.contains($0.inboxID) }
        guard !answered.isEmpty else { return }
        let now = tx.now
        for subject in try await ServiceLevels.subjects(answered.map(\.conversationID), in: tx) {
            guard let autoReplies = subject.autoReplies else { continue }
            var variant: AutoReplyPayload.Variant = subject.hours.map { !$0.isOpen(at: now) } ?? false ? .afterHours : .firstAnswer
            if variant == .firstAnswer, let capacity = autoReplies.capacity {
                let waiting = try await tx.sql.raw("""
                    SELECT COUNT(*) AS n FROM conversations WHERE inbox_id = \(bind: subject.inboxID) AND status = 'open' AND assignee_id IS NULL
                    """).first()?.decode(column: "n", as: Int.self) ?? 0
                if waiting > capacity {
                    if !autoReplies.busy.isEmpty { variant = .busy }
                    // Supervisors hear of it once, when the line is crossed.
                    if waiting == capacity + 1 {
                        try await Notifications.notify(try await ServiceLevels.supervisors(of: subject.workspaceID, in: tx), of: .overCapacity,
                                                       workspace: subject.workspaceID, conversationID: subject.id, number: subject.number,
                                                       actor: nil, excerpt: String(waiting), in: tx)
                    }
                }
            }
            let templates = switch variant {
            case .firstAnswer: autoReplies.firstAnswer
            case .afterHours: autoReplies.afterHours
            case .busy: autoReplies.busy
            }
            guard !templates.isEmpty else { continue }
            try await JobQueue.enqueue(JobKind.autoReply, payload: AutoReplyPayload(conversationID: subject.id, variant: variant),
                                       workspace: subject.workspaceID, in: tx)
        }
    }
}

/// A breach raises the conversation's priority and hands it to a team, as the policy says — as a change like any
/// other (its event, its reactions: the clocks take the new targets).
struct EscalationReaction: Reaction {
    func react(to changes: [DomainChange], in tx: WriteTransaction) async throws {
        for change in changes {
            guard case .serviceLevelAlert(let alert) = change, alert.alert == .breach, let rules = alert.subject.rules else { continue }
            var escalation = ConversationService.Changes()
            if let priority = rules.escalatePriority, priority.rank > alert.subject.priority.rank { escalation.priority = priority }
            if let team = rules.escalateTeamID,
               try await Team.query(on: tx.db).filter(\.$workspace.$id == alert.subject.workspaceID).filter(\.$id == team).first() != nil {
                escalation.teamID = .some(team)
            }
            guard escalation.priority != nil || escalation.teamID != nil,
                  let conversation = try await Conversation.find(alert.subject.id, on: tx.db) else { continue }
            _ = try await ConversationService.change(conversation, escalation, actor: nil, in: tx)
        }
    }
}
