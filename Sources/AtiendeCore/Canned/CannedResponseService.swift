import FluentKit
import Foundation
import SQLKit

/// Canned responses: saved with their variables checked, listed for the agent who may use them (the shared ones and
/// their own), filled in for a conversation, counted when a reply uses one. Each change is one transaction with its event.
public struct CannedResponseService: Sendable {
    public let store: Store

    public init(store: Store) { self.store = store }

    public static let languages = ["es", "en"]
    public static let maxTextLength = 5000

    /// What may change; nil leaves a field as it is.
    public struct Draft: Sendable {
        public var shortcut: String?
        public var title: String?
        public var variants: [String: String]?
        public init(shortcut: String? = nil, title: String? = nil, variants: [String: String]? = nil) {
            self.shortcut = shortcut
            self.title = title
            self.variants = variants
        }
    }

    public func create(_ draft: Draft, owner: UUID?, workspace workspaceID: UUID, actor: UUID) async throws -> CannedResponse {
        guard let shortcut = draft.shortcut, let title = draft.title, let variants = draft.variants else {
            throw AtiendeError.invalid("'shortcut', 'title' and 'variants' are required", code: "invalid_canned_response")
        }
        let response = CannedResponse(workspaceID: workspaceID, ownerID: owner, shortcut: try Self.shortcut(shortcut),
                                      title: try Names.valid(title), variants: try Self.variants(variants), at: Date())
        try await save(response, changes: ["shortcut", "title", "variants"], event: .cannedResponseCreated, actor: actor)
        return response
    }

    public func update(_ response: CannedResponse, _ draft: Draft, actor: UUID) async throws {
        var changes: [String] = []
        if let shortcut = draft.shortcut { response.shortcut = try Self.shortcut(shortcut); changes.append("shortcut") }
        if let title = draft.title { response.title = try Names.valid(title); changes.append("title") }
        if let variants = draft.variants { response.variants = try Self.variants(variants); changes.append("variants") }
        try await save(response, changes: changes, event: .cannedResponseUpdated, actor: actor)
    }

    /// A response a macro or a rule sends is not deleted from under it: the answer names who uses it.
    public func delete(_ response: CannedResponse, actor: UUID) async throws {
        let id = try response.requireID()
        try await store.write { tx in
            try await tx.lockWorkspace(response.$workspace.id)
            let needle = id.uuidString
            let macros = try await Macro.query(on: tx.db).filter(\.$workspace.$id == response.$workspace.id).all()
                .filter { $0.actions.reply?.cannedResponseID == id }.map(\.name)
            let rules = try await AutomationRule.query(on: tx.db).filter(\.$workspace.$id == response.$workspace.id).all()
                .filter { $0.actions.contains { $0.type == .sendCanned && $0.value?.uppercased() == needle } }.map(\.name)
            if let user = (macros + rules).first {
                throw AtiendeError(.conflict, code: "canned_in_use", "/\(response.shortcut) is sent by “\(user)”: change that first",
                                   parameters: ["name": user, "shortcut": response.shortcut])
            }
            try await response.delete(on: tx.db)
            try await EventLog.append(.cannedResponseDeleted, workspace: response.$workspace.id, actor: actor,
                                      payload: RecordEventPayload(id: id, name: response.shortcut), in: tx)
        }
    }

    /// The responses `user` may use in a workspace: the shared ones and their own, by shortcut.
    public func usable(workspace workspaceID: UUID, user: UUID, on db: any Database) async throws -> [CannedResponse] {
        try await CannedResponse.query(on: db).filter(\.$workspace.$id == workspaceID)
            .group(.or) { $0.filter(\.$ownerID == nil).filter(\.$ownerID == user) }
            .sort(\.$shortcut).sort(\.$createdAt).all()
    }

    /// One response `user` may use, or 404 (another agent's personal response is not found, as another workspace's).
    public func usable(_ id: UUID, workspace workspaceID: UUID, user: UUID, on db: any Database) async throws -> CannedResponse {
        guard let response = try await CannedResponse.query(on: db).filter(\.$workspace.$id == workspaceID).filter(\.$id == id)
            .group(.or, { $0.filter(\.$ownerID == nil).filter(\.$ownerID == user) }).first()
        else { throw AtiendeError.notFound("canned response") }
        return response
    }

    /// A response filled in for a conversation, in its language; what had no value stays written and is listed.
    public struct Filled: Sendable, Encodable {
        public var text: String
        public var language: String
        public var missing: [String]
    }

    public func fill(_ response: CannedResponse, conversation conversationID: UUID, workspace workspaceID: UUID, agent: UUID?,
                     on db: any Database) async throws -> Filled {
        guard let conversation = try await Conversation.query(on: db).filter(\.$workspace.$id == workspaceID).filter(\.$id == conversationID).first()
        else { throw AtiendeError.notFound("conversation") }
        let (inbox, language) = try await Self.language(of: conversation, on: db)
        guard let (text, chosen) = response.text(for: language) else { throw AtiendeError.notFound("canned response") }
        return try await fill(text: text, language: chosen, conversation: conversation, inbox: inbox, agent: agent, on: db)
    }

    /// Any text with variables (a macro's reply) filled in for a conversation.
    public func fill(text: String, conversation: Conversation, agent: UUID?, on db: any Database) async throws -> Filled {
        let (inbox, language) = try await Self.language(of: conversation, on: db)
        return try await fill(text: text, language: language, conversation: conversation, inbox: inbox, agent: agent, on: db)
    }

    private func fill(text: String, language: String, conversation: Conversation, inbox: Inbox?, agent: UUID?, on db: any Database) async throws -> Filled {
        let person: User? = if let agent { try await User.find(agent, on: db) } else { nil }
        let values = Placeholders.values(contact: try await Contact.find(conversation.$contact.id, on: db), conversation: conversation,
                                         agent: person, inbox: inbox, language: language, now: Date())
        let (filled, missing) = Placeholders.fill(text, values: values)
        return Filled(text: filled, language: language, missing: missing)
    }

    /// A conversation's language: its inbox's, else its workspace's.
    static func language(of conversation: Conversation, on db: any Database) async throws -> (Inbox?, String) {
        let inbox = try await Inbox.find(conversation.$inbox.id, on: db)
        if let language = inbox?.settings.language { return (inbox, language) }
        return (inbox, try await Workspace.find(conversation.$workspace.id, on: db)?.defaultLanguage ?? "es")
    }

    /// Counts a use by `user` in the reply's transaction; 404 when the response is not one they may use.
    /// `user` nil (a rule): only a shared response.
    static func countUse(_ id: UUID, workspace workspaceID: UUID, user: UUID?, in tx: WriteTransaction) async throws {
        let used = try await tx.sql.raw("""
            UPDATE canned_responses SET use_count = use_count + 1
            WHERE id = \(bind: id) AND workspace_id = \(bind: workspaceID) AND (owner_id IS NULL OR owner_id = \(bind: user ?? UUID()))
            RETURNING id
            """).all()
        guard !used.isEmpty else { throw AtiendeError.notFound("canned response") }
    }

    /// A shortcut as typed after `/`: lowercase letters, digits, `-` and `_`, up to 40.
    static func shortcut(_ raw: String) throws -> String {
        let folded = raw.trimmingCharacters(in: .whitespaces).folding(options: [.diacriticInsensitive, .caseInsensitive], locale: nil)
            .lowercased().replacingOccurrences(of: "/", with: "")
        guard (1...40).contains(folded.count), folded.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) else {
            throw AtiendeError.invalid("a shortcut is 1 to 40 letters, digits, '-' or '_' (typed after '/')", code: "invalid_shortcut")
        }
        return folded
    }

    /// One text per language (`es`, `en`), at least one, each with only variables Atiende can fill.
    static func variants(_ raw: [String: String]) throws -> [String: String] {
        var variants: [String: String] = [:]
        for (language, text) in raw {
            guard languages.contains(language) else {
                throw AtiendeError.invalid("variants are by language: \(languages.joined(separator: ", "))", code: "invalid_language")
            }
            let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
            if trimmed.isEmpty { continue }
            guard trimmed.count <= maxTextLength else {
                throw AtiendeError.invalid("a canned response is at most \(maxTextLength) characters", code: "text_too_long")
            }
            try Placeholders.validate(trimmed)
            variants[language] = trimmed
        }
        guard !variants.isEmpty else { throw AtiendeError.invalid("write the response in at least one language", code: "empty_message") }
        return variants
    }

    /// A shortcut is used once among the shared responses and once among each agent's own.
    private func save(_ response: CannedResponse, changes: [String], event: EventType, actor: UUID) async throws {
        let workspaceID = response.$workspace.id
        try await store.write { tx in
            try await tx.lockWorkspace(workspaceID)
            let query = CannedResponse.query(on: tx.db).filter(\.$workspace.$id == workspaceID).filter(\.$shortcut == response.shortcut)
            if let owner = response.ownerID { query.filter(\.$ownerID == owner) } else { query.filter(\.$ownerID == nil) }
            let same = try await query.first()
            if let same, same.id != response.id {
                throw AtiendeError(.conflict, code: "shortcut_in_use", "the shortcut /\(response.shortcut) is already used",
                                   parameters: ["shortcut": response.shortcut])
            }
            response.updatedAt = tx.now
            try await response.save(on: tx.db)
            try await EventLog.append(event, workspace: workspaceID, actor: actor,
                                      payload: RecordEventPayload(id: try response.requireID(), name: response.shortcut,
                                                                  detail: response.isShared ? "shared" : "personal", changes: changes), in: tx)
        }
    }
}
