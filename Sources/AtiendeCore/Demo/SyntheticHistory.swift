import Foundation
import SQLKit

/// A year of plausible history for a workspace, written in bulk: contacts with an email identity, conversations
/// spread over the inboxes (89% resolved, the rest open, pending or snoozed; some assigned, prioritized and
/// labelled) and one customer message each. Used by `atiende demo --conversations N` and the inbox benchmark.
public enum SyntheticHistory {
    static let texts = [
        "Hola, ¿cuándo llega mi pedido?", "La boleta salió con el RUT equivocado", "Quiero cambiar la dirección de despacho",
        "El producto llegó dañado, necesito una devolución", "¿Tienen stock de la parka talla M?", "No puedo pagar con tarjeta",
        "Hi, do you ship to Argentina?", "My order arrived late", "Necesito la factura de mi compra", "¿Cuál es el horario de atención?",
    ]
    static let labels = ["despacho", "facturación", "reclamo", "preventa", "devolución"]
    static let names = ["María", "José", "Camila", "Diego", "Valentina", "Matías", "Emily", "Tom", "Sofía", "Benjamín"]
    static let surnames = ["González", "Muñoz", "Rojas", "Díaz", "Pérez", "Soto", "Contreras", "Silva", "Martínez", "Sepúlveda"]

    public static func write(_ count: Int, workspace workspaceID: UUID, inboxes: [(id: UUID, channel: ChannelKind)],
                             agents: [UUID], store: Store, openPercent: Int = 8, chunk: Int = 500) async throws {
        guard count > 0, !inboxes.isEmpty else { return }
        var done = 0
        while done < count {
            let n = min(chunk, count - done)
            let start = done
            try await store.write { tx in
                let last = Int(try await tx.advance(.conversation, by: n, in: workspaceID))
                let now = tx.now
                var contacts: [SQLQueryString] = [], identities: [SQLQueryString] = []
                var conversations: [(conversation: ConversationSnapshot, workspaceID: UUID, lastIncomingAt: Date?)] = []
                var messages: [SQLQueryString] = []
                var random = SystemRandomNumberGenerator()
                for i in 0..<n {
                    let index = start + i
                    let number = last - n + 1 + i
                    let contactID = UUID(), conversationID = UUID()
                    let name = "\(names[index % names.count]) \(surnames[(index / names.count) % surnames.count]) \(index)"
                    let email = "cliente\(index)@example.com"
                    let inbox = inboxes[index % inboxes.count]
                    let created = now.addingTimeInterval(-Double.random(in: 3600...(365 * 86_400), using: &random))
                    let lastMessage = min(now, created.addingTimeInterval(Double.random(in: 0...(2 * 86_400), using: &random)))
                    let bucket = index % 100
                    let status: ConversationStatus = bucket < openPercent ? .open
                        : bucket < openPercent + 2 ? .pending : bucket < openPercent + 3 ? .snoozed : .resolved
                    let active = status != .resolved
                    let assignee: UUID? = active && index % 5 < 3 && !agents.isEmpty ? agents[index % agents.count] : nil
                    let priority = Priority.allCases[index % 7 < Priority.allCases.count ? index % 7 : 0]
                    let labelList = index % 5 == 0 ? [labels[index % labels.count]] : []
                    let waiting: Date? = status == .open && index % 10 < 7 ? lastMessage : nil
                    let empty: SQLQueryString = store.dialect == .postgres ? "'{}'::jsonb" : "'{}'"
                    let emptyLabels: SQLQueryString = store.dialect == .postgres ? "'{}'::text[]" : "'[]'"
                    contacts.append("(\(bind: contactID), \(bind: workspaceID), \(bind: name), \(bind: email), NULL, " + empty + ", " + emptyLabels
                                    + ", \(bind: created), \(bind: created))")
                    identities.append("(\(bind: UUID()), \(bind: workspaceID), \(bind: contactID), 'email', \(bind: email), \(bind: created))")
                    conversations.append((ConversationSnapshot(
                        id: conversationID, number: number, inboxID: inbox.id, contactID: contactID, channel: inbox.channel, status: status,
                        priority: priority, assigneeID: assignee, teamID: nil, labels: labelList, contactReason: nil, subject: nil, threadID: nil,
                        snoozedUntil: status == .snoozed ? now.addingTimeInterval(86_400) : nil, createdAt: created, updatedAt: lastMessage,
                        lastMessageAt: lastMessage, waitingSince: waiting, firstResponseAt: nil,
                        resolvedAt: status == .resolved ? lastMessage : nil, messageCount: 1), workspaceID, lastMessage))
                    messages.append("""
                        (\(bind: UUID()), \(bind: workspaceID), \(bind: conversationID), \(bind: inbox.id), 'incoming', 'contact', \(bind: contactID),
                         \(bind: texts[index % texts.count] + " (#\(number))"), \(bind: "synthetic-\(workspaceID)-\(number)"), 'received',
                         \(bind: lastMessage), \(bind: lastMessage))
                        """)
                }
                func joined(_ rows: [SQLQueryString]) -> SQLQueryString {
                    rows.dropFirst().reduce(rows[0]) { $0 + ", " + $1 }
                }
                try await tx.sql.raw("INSERT INTO contacts (id, workspace_id, name, email, phone, attributes, labels, created_at, updated_at) VALUES "
                                     + joined(contacts)).run()
                try await tx.sql.raw("INSERT INTO contact_identities (id, workspace_id, contact_id, kind, value, created_at) VALUES "
                                     + joined(identities)).run()
                try await IngestSQL.insertConversations(conversations, dialect: store.dialect, on: tx.sql)
                try await tx.sql.raw("""
                    INSERT INTO messages (id, workspace_id, conversation_id, inbox_id, kind, sender_type, sender_id, text,
                        provider_message_id, delivery_status, created_at, updated_at) VALUES
                    """ + joined(messages)).run()
            }
            done += n
        }
    }
}
