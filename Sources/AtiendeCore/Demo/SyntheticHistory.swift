import Foundation
import SQLKit

/// A year of plausible history for a workspace, written in bulk: contacts with an email identity, conversations
/// spread over the inboxes (89% resolved, the rest open, pending or snoozed; some prioritized and labelled), each an
/// exchange of one to five customer messages and agent answers with the agent's handle time, a contact reason, and a
/// CSAT answer for a quarter of the resolved ones — with the event log the desk would have written for all of it, so the
/// metrics are rebuilt from it like any history (about eleven events per conversation). Used by `atiende demo
/// --conversations N` and the benchmarks.
public enum SyntheticHistory {
    static let texts = [
        "Hola, ¿cuándo llega mi pedido?", "La boleta salió con el RUT equivocado", "Quiero cambiar la dirección de despacho",
        "El producto llegó dañado, necesito una devolución", "¿Tienen stock de la parka talla M?", "No puedo pagar con tarjeta",
        "Hi, do you ship to Argentina?", "My order arrived late", "Necesito la factura de mi compra", "¿Cuál es el horario de atención?",
    ]
    static let answers = [
        "Hola, lo reviso de inmediato.", "Gracias por escribirnos, ya lo corregimos.", "Listo, quedó actualizado.",
        "Te enviamos los pasos por aquí.", "Hi! Yes, we can help with that.",
    ]
    static let followUps = ["¿Y cuándo sería?", "Ok, gracias", "Sigue sin funcionar", "Perfecto, ¿algo más que deba hacer?"]
    static let labels = ["despacho", "facturación", "reclamo", "preventa", "devolución"]
    static let reasons = ["envío", "facturación", "cambio o devolución", "stock", "pago", "horario"]
    static let names = ["María", "José", "Camila", "Diego", "Valentina", "Matías", "Emily", "Tom", "Sofía", "Benjamín"]
    static let surnames = ["González", "Muñoz", "Rojas", "Díaz", "Pérez", "Soto", "Contreras", "Silva", "Martínez", "Sepúlveda"]
    static let scores = [5, 5, 4, 5, 3, 4, 2, 5, 1, 4]

    /// One conversation's rows and events, in the order they happened.
    struct Built {
        var conversation: ConversationSnapshot
        var messages: [SQLQueryString] = []
        var events: [(type: EventType, actor: UUID?, payload: String, at: Date)] = []
        var survey: SQLQueryString?
    }

    /// Returns how many events it wrote. `progress` hears the phase ("history", then "metrics") and the share of it done.
    @discardableResult
    public static func write(_ count: Int, workspace workspaceID: UUID, inboxes: [(id: UUID, channel: ChannelKind)],
                             agents: [UUID], store: Store, openPercent: Int = 8, chunk: Int = 500,
                             progress: @Sendable (String, Double) -> Void = { _, _ in }) async throws -> Int {
        guard count > 0, !inboxes.isEmpty else { return 0 }
        var done = 0, written = 0
        while done < count {
            let n = min(chunk, count - done)
            let start = done
            written += try await store.write { tx in
                let last = Int(try await tx.advance(.conversation, by: n, in: workspaceID))
                let now = tx.now
                var contacts: [SQLQueryString] = [], identities: [SQLQueryString] = [], built: [Built] = []
                var random = SystemRandomNumberGenerator()
                let empty: SQLQueryString = store.dialect == .postgres ? "'{}'::jsonb" : "'{}'"
                let emptyLabels: SQLQueryString = store.dialect == .postgres ? "'{}'::text[]" : "'[]'"
                for i in 0..<n {
                    let index = start + i
                    let contactID = UUID.ordered()
                    let name = "\(names[index % names.count]) \(surnames[(index / names.count) % surnames.count]) \(index)"
                    let email = "cliente\(index)@example.com"
                    let created = now.addingTimeInterval(-Double.random(in: 3600...(365 * 86_400), using: &random))
                    contacts.append("(\(bind: contactID), \(bind: workspaceID), \(bind: name), \(bind: email), NULL, " + empty + ", " + emptyLabels
                                    + ", \(bind: created), \(bind: created))")
                    identities.append("(\(bind: UUID.ordered()), \(bind: workspaceID), \(bind: contactID), 'email', \(bind: email), \(bind: created))")
                    built.append(conversation(index, number: last - n + 1 + i, contact: contactID, created: created, now: now, workspace: workspaceID,
                                              inbox: inboxes[index % inboxes.count], agents: agents, openPercent: openPercent, random: &random))
                }
                try await IngestSQL.insertRows("INSERT INTO contacts (id, workspace_id, name, email, phone, attributes, labels, created_at, updated_at) VALUES ",
                                 contacts, on: tx.sql)
                try await IngestSQL.insertRows("INSERT INTO contact_identities (id, workspace_id, contact_id, kind, value, created_at) VALUES ",
                                 identities, on: tx.sql)
                try await IngestSQL.insertConversations(built.map { ($0.conversation, workspaceID, $0.conversation.lastMessageAt) },
                                                        dialect: store.dialect, on: tx.sql)
                try await IngestSQL.insertRows("""
                    INSERT INTO messages (id, workspace_id, conversation_id, inbox_id, kind, sender_type, sender_id, text,
                        provider_message_id, delivery_status, survey, created_at, updated_at) VALUES
                    """, built.flatMap(\.messages), on: tx.sql)
                try await IngestSQL.insertRows("""
                    INSERT INTO surveys (id, workspace_id, conversation_id, contact_id, inbox_id, channel, kind, status, language, token_hash,
                        agent_id, contact_reason, message_id, score, first_score, comment, created_at, sent_at, answered_at) VALUES
                    """, built.compactMap(\.survey), on: tx.sql)
                let events = built.flatMap { b in b.events.map { (b.conversation.id, $0) } }
                var seq = try await tx.advance(.event, by: events.count, in: workspaceID) - Int64(events.count)
                try await IngestSQL.insertRows("INSERT INTO events (id, workspace_id, seq, type, conversation_id, actor_id, payload, created_at) VALUES ",
                                 events.map { id, event in
                                     seq += 1
                                     return "(\(bind: UUID.ordered()), \(bind: workspaceID), \(bind: seq), \(bind: event.type.rawValue), \(bind: id), \(bind: event.actor), \(bind: event.payload), \(bind: event.at))"
                                 }, on: tx.sql)
                return events.count
            }
            done += n
            progress("history", Double(done) / Double(count))
        }
        // The rollups, from the event log just written: the same replay `atiende metrics rebuild` does.
        progress("metrics", 0)
        try await MetricsRebuild.run(workspace: workspaceID, store: store)
        progress("metrics", 1)
        return written
    }

    /// One conversation: the customer writes, an agent answers, up to five times; resolved (with a reason) unless it is
    /// among the active ones; a quarter of the resolved ones rated.
    static func conversation(_ index: Int, number: Int, contact: UUID, created: Date, now: Date, workspace: UUID,
                             inbox: (id: UUID, channel: ChannelKind), agents: [UUID], openPercent: Int,
                             random: inout SystemRandomNumberGenerator) -> Built {
        let bucket = index % 100
        let status: ConversationStatus = bucket < openPercent ? .open
            : bucket < openPercent + 2 ? .pending : bucket < openPercent + 3 ? .snoozed : .resolved
        let agent: UUID? = agents.isEmpty ? nil : agents[index % agents.count]
        let exchanges = 1 + index % 5
        var c = ConversationSnapshot(
            id: .ordered(), number: number, inboxID: inbox.id, contactID: contact, channel: inbox.channel, status: .open,
            priority: Priority.allCases[index % 7 < Priority.allCases.count ? index % 7 : 0], assigneeID: nil, teamID: nil,
            labels: index % 5 == 0 ? [labels[index % labels.count]] : [], contactReason: nil, subject: nil, threadID: nil, snoozedUntil: nil,
            createdAt: created, updatedAt: created, lastMessageAt: created, waitingSince: nil, firstResponseAt: nil, resolvedAt: nil, messageCount: 0)
        var built = Built(conversation: c)
        func event(_ type: EventType, _ payload: some Encodable, actor: UUID?, at: Date) {
            built.events.append((type, actor, (try? EventLog.json(payload)) ?? "{}", at))
        }
        func message(_ kind: MessageKind, text: String, at: Date, survey: SurveyPrompt? = nil) -> UUID {
            let id = UUID.ordered()
            c.messageCount += 1
            c.lastMessageAt = at
            c.updatedAt = at
            let sender: UUID? = kind == .incoming ? contact : survey == nil ? agent : nil
            let senderType: SenderType = kind == .incoming ? .contact : survey == nil ? .agent : .system
            let surveyJSON = survey.flatMap { try? EventLog.json($0) }
            built.messages.append("""
                (\(bind: id), \(bind: workspace), \(bind: c.id), \(bind: inbox.id), \(bind: kind.rawValue), \(bind: senderType.rawValue), \(bind: sender),
                 \(bind: text), \(bind: kind == .incoming ? "synthetic-\(workspace)-\(number)-\(c.messageCount)" : nil),
                 \(bind: kind == .incoming ? "received" : "delivered"), \(bind: surveyJSON), \(bind: at), \(bind: at))
                """)
            let snapshot = MessageSnapshot(id: id, conversationID: c.id, kind: kind, senderType: senderType, senderID: sender, text: text,
                                           providerMessageID: nil, deliveryStatus: kind == .incoming ? .received : .delivered, deliveryError: nil,
                                           deliveryErrorCode: nil, deliveryAttempt: nil, sentAt: nil, createdAt: at, attachments: [], template: nil,
                                           survey: survey)
            event(.messageCreated, MessageEventPayload(conversation: c, message: snapshot), actor: kind == .incoming ? nil : sender, at: at)
            return id
        }
        event(.conversationCreated, ConversationEventPayload(conversation: c), actor: nil, at: created)
        var at = created
        for exchange in 0..<exchanges {
            if c.waitingSince == nil { c.waitingSince = at }
            _ = message(.incoming, text: exchange == 0 ? texts[index % texts.count] + " (#\(number))" : followUps[(index + exchange) % followUps.count], at: at)
            // The last exchange of an active conversation may still wait for its answer.
            if status != .resolved && exchange == exchanges - 1 && index % 10 < 7 { break }
            at = min(now, at.addingTimeInterval(Double.random(in: 30...(4 * 3600), using: &random)))
            if c.assigneeID == nil, let agent {
                c.assigneeID = agent
                event(.conversationAssigned, ConversationEventPayload(conversation: c, changes: ["assignee_id": ""]), actor: agent, at: at)
            }
            c.waitingSince = nil
            if c.firstResponseAt == nil { c.firstResponseAt = at }
            _ = message(.outgoing, text: answers[(index + exchange) % answers.count], at: at)
            if exchange < exchanges - 1 { at = min(now, at.addingTimeInterval(Double.random(in: 300...86_400, using: &random))) }
        }
        // The agent's time on it, ending with the last answer.
        if let agent, c.firstResponseAt != nil {
            let seconds = Double.random(in: 60...900, using: &random).rounded()
            event(.conversationWorked, HandleTime.Payload(conversation: c, agentID: agent, seconds: seconds, startedAt: at.addingTimeInterval(-seconds)),
                  actor: agent, at: at)
        }
        switch status {
        case .resolved:
            c.contactReason = reasons[index % reasons.count]
            event(.conversationUpdated, ConversationEventPayload(conversation: c, changes: ["contact_reason": ""]), actor: agent, at: at)
            at = min(now, at.addingTimeInterval(Double.random(in: 60...(2 * 86_400), using: &random)))
            c.status = .resolved
            c.resolvedAt = at
            c.waitingSince = nil
            c.updatedAt = at
            event(.conversationResolved, ConversationEventPayload(conversation: c, changes: ["status": "open"]), actor: agent, at: at)
            if index % 4 == 1 {
                let surveyID = UUID()
                let sent = min(now, at.addingTimeInterval(60))
                let messageID = message(.outgoing, text: SurveyText.message(.csat, language: "es", links: nil), at: sent,
                                        survey: SurveyPrompt(id: surveyID, kind: .csat))
                let score = scores[(index / 4) % scores.count]
                let answered = min(now, sent.addingTimeInterval(Double.random(in: 60...7200, using: &random)))
                let comment: String? = score <= 2 ? "Tardaron mucho en resolverlo" : score == 5 && index % 3 == 0 ? "¡Muy amables!" : nil
                built.survey = """
                    (\(bind: surveyID), \(bind: workspace), \(bind: c.id), \(bind: contact), \(bind: inbox.id), \(bind: inbox.channel.rawValue), 'csat', 'answered',
                     'es', \(bind: SecretToken.sha256Hex(surveyID.uuidString)), \(bind: agent), \(bind: c.contactReason), \(bind: messageID), \(bind: score),
                     \(bind: score), \(bind: comment), \(bind: at), \(bind: sent), \(bind: answered))
                    """
                let snapshot = SurveySnapshot(id: surveyID, conversationID: c.id, contactID: contact, inboxID: inbox.id, channel: inbox.channel,
                                              kind: .csat, status: .answered, agentID: agent, teamID: nil, contactReason: c.contactReason, score: score,
                                              firstScore: score, comment: comment, requestedBy: nil, createdAt: at, sentAt: sent, answeredAt: answered)
                event(.surveyAnswered, SurveyEventPayload(survey: snapshot), actor: nil, at: answered)
            }
        case .pending, .snoozed:
            c.status = status
            c.waitingSince = nil
            c.snoozedUntil = status == .snoozed ? now.addingTimeInterval(86_400) : nil
            event(.conversationStatusChanged, ConversationEventPayload(conversation: c, changes: ["status": "open"]), actor: agent, at: at)
        case .open, .closed:
            break
        }
        built.conversation = c
        return built
    }
}
