import FluentKit
import Foundation

/// Who is told what: the new assignee (unless they assigned themselves), the people `@mentioned` in a note, and the
/// assignee and supervisors of a conversation whose service level is at risk or breached — within their working hours
/// (or the inbox's) when the policy asks for that, else at once.
struct NotificationsReaction: Reaction {
    func react(to changes: [DomainChange], in tx: WriteTransaction) async throws {
        var supervisors: [UUID: [UUID]] = [:]
        for change in changes {
            switch change {
            case .conversationChanged(let change):
                guard change.assigneeChanged, let assignee = change.after.assigneeID, assignee != change.actor else { continue }
                try await Notifications.notify([assignee], of: .assigned, workspace: change.workspaceID, conversationID: change.after.id,
                                               number: change.after.number, actor: change.actor, excerpt: change.after.subject ?? "", in: tx)
            case .noteAdded(let note):
                let mentioned = try await Notifications.mentionedMembers(in: note.message.text, workspace: note.workspaceID, in: tx)
                try await Notifications.notify(mentioned.filter { $0 != note.author }, of: .mention, workspace: note.workspaceID,
                                               conversationID: note.conversation.id, number: note.conversation.number, actor: note.author,
                                               excerpt: note.message.text, in: tx)
            case .serviceLevelAlert(let alert):
                let workspace = alert.subject.workspaceID
                if supervisors[workspace] == nil { supervisors[workspace] = try await ServiceLevels.supervisors(of: workspace, in: tx) }
                try await notify(alert, watchers: supervisors[workspace] ?? [], in: tx)
            case .messagesReceived, .replied, .contactLogged, .surveyAnswered, .worked:
                break
            }
        }
    }

    private func notify(_ alert: DomainChange.ServiceLevelAlert, watchers: [UUID], in tx: WriteTransaction) async throws {
        let subject = alert.subject
        let recipients = Array(Set(watchers + [subject.assigneeID].compactMap { $0 })).sorted { $0.uuidString < $1.uuidString }
        func notice(_ users: [UUID]) -> DeferredNotice {
            DeferredNotice(users: users, kind: alert.alert == .warning ? .slaWarning : .slaBreach, workspaceID: subject.workspaceID,
                           conversationID: subject.id, number: subject.number, excerpt: alert.clock.rawValue)
        }
        guard subject.rules?.notifyInBusinessHours == true, !recipients.isEmpty else {
            return try await notice(recipients).deliver(in: tx)
        }
        // Each person is told within their own working hours when they have them, else within the inbox's.
        let own = try await User.query(on: tx.db).filter(\.$id ~~ recipients).all()
        var hoursOf: [UUID: BusinessHours] = [:]
        for user in own { if let id = user.id, let hours = user.workingHours { hoursOf[id] = hours } }
        var byTime: [Date: [UUID]] = [:]
        var now: [UUID] = []
        for id in recipients {
            if let hours = hoursOf[id] ?? subject.hours, !hours.isOpen(at: tx.now), let opening = hours.nextOpening(after: tx.now) {
                byTime[opening, default: []].append(id)
            } else {
                now.append(id)
            }
        }
        if !now.isEmpty { try await notice(now).deliver(in: tx) }
        for (opening, users) in byTime.sorted(by: { $0.key < $1.key }) {
            try await JobQueue.enqueue(JobKind.serviceLevelNotice, payload: notice(users), workspace: subject.workspaceID, runAt: opening, in: tx)
        }
    }
}
