import AtiendeChannels
import AtiendeCore
import Fluent
import SQLKit
import Vapor

/// `atiende demo`: a workspace that looks like a real week of a small Chilean shop that sells online,
/// with Spanish- and English-speaking customers across several channels.
struct DemoCommand: AsyncCommand {
    struct Signature: CommandSignature {
        @Option(name: "email", help: "Admin email (default demo@atiende.local)") var email: String?
        @Option(name: "password", help: "Admin password (default atiende-demo)") var password: String?
        @Option(name: "conversations", help: "Also write this many synthetic conversations (a year of history, for load tests)")
        var conversations: Int?
        @Option(name: "open-percent", help: "Share of the synthetic conversations left open (default 8)")
        var openPercent: Int?
    }
    var help: String { "Creates a demo workspace with customers, conversations and agents." }

    struct Script {
        var inbox: String
        var customer: String
        var email: String?
        var phone: String?
        var lines: [(fromCustomer: Bool, text: String)]
        var status: ConversationStatus
        var priority: Priority
        var labels: [String]
        var reason: String?
    }

    func run(using context: CommandContext, signature: Signature) async throws {
        let app = context.application
        try await SchemaMigration.run(app)
        let services = app.atiende
        let email = signature.email ?? "demo@atiende.local"
        let password = signature.password ?? "atiende-demo"
        let hasher = app.password
        let (workspace, admin) = try await WorkspaceService.create(
            name: "Tienda Andina (demo)", adminEmail: email, adminName: "Camila Rojas", passwordHash: { try hasher.hash(password) },
            language: "es", timeZone: "America/Santiago", store: services.store)
        let workspaceID = try workspace.requireID()
        let adminID = try admin.requireID()
        let agentHash = try hasher.hash(password)

        let (inboxes, agents) = try await services.store.write { tx -> ([String: Inbox], [UUID]) in
            workspace.defaultCountryCode = "56"
            try await workspace.save(on: tx.db)
            var agents: [UUID] = []
            for (name, mail) in [("Diego Muñoz", "diego.demo@atiende.local"), ("Sarah Miller", "sarah.demo@atiende.local")] {
                let user = try await User.query(on: tx.db).filter(\.$email == mail).first()
                    ?? User(email: mail, name: name, passwordHash: agentHash, language: name.hasPrefix("Sarah") ? "en" : "es")
                if user.id == nil { try await user.create(on: tx.db) }
                try await Membership(workspaceID: workspaceID, userID: try user.requireID(), role: .agent).create(on: tx.db)
                agents.append(try user.requireID())
            }
            let team = Team(workspaceID: workspaceID, name: "Soporte nivel 2")
            try await team.create(on: tx.db)
            var inboxes: [String: Inbox] = [:]
            let channels: [(String, ChannelKind)] = [
                ("Correo soporte@tiendaandina.cl", .email), ("WhatsApp +56 9 5555 0000", .whatsapp),
                ("Chat del sitio web", .webchat), ("Integración ERP (API)", .api), ("Teléfono", .phone),
            ]
            for (name, channel) in channels {
                // What each channel's form asks for, so the demo's inboxes can be edited as they are.
                let values: [String: String] = switch channel {
                case .email: ["address": "soporte@tiendaandina.cl", "display_name": "Tienda Andina"]
                case .whatsapp: ["phone_number_id": "demo-555", "verify_token": SecretToken.make(prefix: "verify_", bytes: 18)]
                default: [:]
                }
                let inbox = Inbox(workspaceID: workspaceID, name: name, channel: channel,
                                  settings: InboxSettings(webhookURL: channel == .api ? "http://127.0.0.1:9/demo-webhook" : nil, language: "es", values: values))
                if channel == .api { inbox.sealedSecrets = try services.secrets.seal([APIChannel.secretKey: SecretToken.make(prefix: "whsec_")]) }
                try await inbox.create(on: tx.db)
                inboxes[channel.rawValue] = inbox
            }
            return (inboxes, agents)
        }

        let scripts: [Script] = [
            Script(inbox: "whatsapp", customer: "María José Pérez", email: nil, phone: "+56 9 8765 4321",
                   lines: [(true, "Hola, compré unas zapatillas el lunes y todavía no me llega el número de seguimiento 😟"),
                           (false, "Hola María José, gracias por escribirnos. Reviso tu pedido y te respondo en unos minutos."),
                           (true, "Gracias! Es el pedido 10452")],
                   status: .open, priority: .high, labels: ["despacho"], reason: "Estado del pedido"),
            Script(inbox: "email", customer: "Jorge Fuentes", email: "jorge.fuentes@example.cl", phone: nil,
                   lines: [(true, "Estimados: la boleta de mi compra salió con el RUT equivocado. ¿Pueden emitirla de nuevo?")],
                   status: .open, priority: .medium, labels: ["facturación"], reason: "Boleta o factura"),
            Script(inbox: "webchat", customer: "Emily Clark", email: "emily.clark@example.com", phone: nil,
                   lines: [(true, "Hi! Do you ship to Mendoza, Argentina?"),
                           (false, "Hi Emily! Yes, we ship to Argentina in 5–7 business days."),
                           (true, "Great, thanks!")],
                   status: .resolved, priority: .none, labels: ["envíos-internacionales"], reason: "Pre-sale question"),
            Script(inbox: "email", customer: "María José Pérez", email: "mjperez@example.cl", phone: "+56987654321",
                   lines: [(true, "Les escribo también por correo: el pedido 10452 sigue sin seguimiento.")],
                   status: .open, priority: .high, labels: ["despacho", "reclamo"], reason: "Estado del pedido"),
            Script(inbox: "api", customer: "Tom Becker", email: "tom.becker@example.de", phone: nil,
                   lines: [(true, "Order 10388 arrived damaged, the box was crushed."),
                           (false, "We're sorry, Tom. We'll send a replacement today.")],
                   status: .pending, priority: .urgent, labels: ["devolución"], reason: "Damaged product"),
            Script(inbox: "whatsapp", customer: "Pedro Soto", email: nil, phone: "+56 9 1234 5678",
                   lines: [(true, "¿Tienen la parka talla M en color verde?")],
                   status: .open, priority: .low, labels: ["preventa"], reason: "Stock"),
            Script(inbox: "phone", customer: "Ana Vidal", email: "ana.vidal@example.cl", phone: "+56 2 2345 6789",
                   lines: [(true, "Llamada: quiere cambiar la dirección de despacho del pedido 10471.")],
                   status: .resolved, priority: .medium, labels: ["despacho"], reason: "Cambio de dirección"),
        ]

        var counter = 0
        for script in scripts {
            guard let inbox = inboxes[script.inbox] else { continue }
            var conversationID: UUID?
            for line in script.lines {
                counter += 1
                if line.fromCustomer {
                    var identities: [(kind: IdentityKind, value: String)] = []
                    if script.inbox == "whatsapp", let phone = script.phone { identities.append((.whatsapp, phone)) }
                    if let mail = script.email { identities.append((.email, mail)) }
                    if let phone = script.phone { identities.append((.phone, phone)) }
                    let inbound = InboundMessage(inboxID: try inbox.requireID(), providerMessageID: "demo-\(counter)",
                                                 sender: .init(name: script.customer, identities: identities), text: line.text)
                    conversationID = try await services.ingest.receive(inbound, in: inbox, countryCode: "56").conversationID
                } else if let conversationID {
                    _ = try await services.conversations.reply(conversationID, workspace: workspaceID, text: line.text,
                                                               author: agents[counter % agents.count], isNote: false)
                }
            }
            guard let conversationID else { continue }
            _ = try await services.conversations.reply(conversationID, workspace: workspaceID,
                                                       text: "Revisar con bodega antes de responder. @Camila", author: adminID, isNote: true)
            _ = try await services.conversations.update(
                conversationID, workspace: workspaceID,
                changes: .init(status: script.status, assigneeID: .some(agents[counter % agents.count]), priority: script.priority,
                               labels: script.labels, contactReason: .some(script.reason)),
                actor: adminID)
        }
        // The demo's replies were sent long ago: nothing real to deliver them to (its providers are made up).
        try await services.store.write { tx in
            try await tx.sql.raw("DELETE FROM jobs WHERE workspace_id = \(bind: workspaceID) AND kind = \(bind: JobKind.send.rawValue)").run()
            try await tx.sql.raw("""
                UPDATE messages SET delivery_status = 'delivered' WHERE workspace_id = \(bind: workspaceID) AND kind = 'outgoing' AND delivery_status = 'queued'
                """).run()
        }
        if let extra = signature.conversations, extra > 0 {
            let boxes = inboxes.values.compactMap { box in box.id.map { (id: $0, channel: box.channel) } }.sorted { $0.id.uuidString < $1.id.uuidString }
            let started = Date()
            let bar = ProgressBar()
            let events = try await SyntheticHistory.write(extra, workspace: workspaceID, inboxes: boxes, agents: agents + [adminID],
                                                          store: services.store, openPercent: min(100, max(0, signature.openPercent ?? 8)),
                                                          progress: bar.show)
            bar.finish()
            context.console.print("Wrote \(extra) synthetic conversations (\(events) events, their metrics rebuilt) in \(Int(Date().timeIntervalSince(started))) s"
                                  + " (\(bar.summary)).")
        }
        context.console.print("Demo workspace \"\(workspace.name)\" ready (id \(workspaceID.uuidString.lowercased())).")
        context.console.print("Sign in as \(email) with password \(password); agents diego.demo@atiende.local and sarah.demo@atiende.local share it.")
    }
}
