import FluentKit
import Foundation
import SQLKit

/// Event types, as clients see them.
public enum EventType: String, Sendable, CaseIterable {
    case conversationCreated = "conversation.created"
    case conversationUpdated = "conversation.updated"
    case conversationReopened = "conversation.reopened"
    case conversationStatusChanged = "conversation.status_changed"
    case conversationAssigned = "conversation.assigned"
    case conversationResolved = "conversation.resolved"
    /// An agent had the conversation open and active in front of them for a while (handle time).
    case conversationWorked = "conversation.worked"
    case messageCreated = "message.created"
    case messageUpdated = "message.updated"
    case contactCreated = "contact.created"
    case contactUpdated = "contact.updated"
    case contactMerged = "contact.merged"
    case contactDuplicateSuggested = "contact.duplicate_suggested"
    /// Everything the workspace holds about a contact downloaded (a privacy request), or erased (`PrivacyService`).
    case contactExported = "contact.exported"
    case contactErased = "contact.erased"
    /// Another help desk's history written into an inbox (`Importer`).
    case importFinished = "import.finished"
    case jobDeadLettered = "job.dead_lettered"
    case notificationCreated = "notification.created"
    case slaWarning = "sla.warning"
    case slaBreached = "sla.breached"
    // The workspace's configuration: who changed what, for the audit trail and for what reacts to it.
    case inboxCreated = "inbox.created"
    case inboxUpdated = "inbox.updated"
    case inboxDeleted = "inbox.deleted"
    case inboxSecretRotated = "inbox.secret_rotated"
    case teamCreated = "team.created"
    case teamUpdated = "team.updated"
    case teamDeleted = "team.deleted"
    case memberInvited = "member.invited"
    case memberJoined = "member.joined"
    case memberRoleChanged = "member.role_changed"
    case memberRemoved = "member.removed"
    case memberAvailabilityChanged = "member.availability_changed"
    case memberRoutingChanged = "member.routing_changed"
    case workspaceUpdated = "workspace.updated"
    case slaPolicyCreated = "sla_policy.created"
    case slaPolicyUpdated = "sla_policy.updated"
    case slaPolicyDeleted = "sla_policy.deleted"
    case savedViewCreated = "saved_view.created"
    case savedViewDeleted = "saved_view.deleted"
    case jobRetried = "job.retried"
    case cannedResponseCreated = "canned_response.created"
    case cannedResponseUpdated = "canned_response.updated"
    case cannedResponseDeleted = "canned_response.deleted"
    case macroCreated = "macro.created"
    case macroUpdated = "macro.updated"
    case macroDeleted = "macro.deleted"
    case automationRuleCreated = "automation_rule.created"
    case automationRuleUpdated = "automation_rule.updated"
    case automationRuleDeleted = "automation_rule.deleted"
    case automationPaused = "automation.paused"
    case followUpScheduled = "follow_up.scheduled"
    case followUpCancelled = "follow_up.cancelled"
    case surveyScheduled = "survey.scheduled"
    case surveySent = "survey.sent"
    case surveyAnswered = "survey.answered"
    case atRiskHandled = "at_risk.handled"
    case reportSubscriptionChanged = "report.subscription_changed"
    case compensationGranted = "compensation.granted"
    case compensationRequested = "compensation.requested"
    case compensationApproved = "compensation.approved"
    case compensationRejected = "compensation.rejected"
    // A member's own account, appended to each of their workspaces for the audit log (`AuditLog`).
    case accountSignedIn = "account.signed_in"
    case accountSignInFailed = "account.sign_in_failed"
    case accountPasswordChanged = "account.password_changed"
    case accountTwoFactorEnabled = "account.two_factor_enabled"
    case accountTwoFactorDisabled = "account.two_factor_disabled"
    case accountSessionsEnded = "account.sessions_ended"
    case apiTokenCreated = "api_token.created"
    case apiTokenRevoked = "api_token.revoked"
    /// A report or the conversations' rows downloaded (CSV) or exported through the API.
    case reportExported = "report.exported"
}

/// What a configuration event says: which record, what it is called, and which of its fields changed — never a secret.
public struct RecordEventPayload: Codable, Sendable, Equatable {
    public var id: UUID
    public var name: String?
    /// The record's kind within its type: an inbox's channel, a member's role, a job's kind.
    public var detail: String?
    public var changes: [String]?
    /// Where a person's request came from (their address), for the events of their own account.
    public var address: String?

    public init(id: UUID, name: String? = nil, detail: String? = nil, changes: [String]? = nil, address: String? = nil) {
        self.id = id
        self.name = name
        self.detail = detail
        self.changes = changes
        self.address = address
    }
}

public enum EventLog {
    /// An event about to be written; `payload` is its JSON.
    struct Pending {
        var workspace: UUID
        var type: EventType
        var conversation: UUID?
        var actor: UUID?
        var payload: String
    }

    /// Appends an event in the caller's transaction with the workspace's next event id.
    public static func append(
        _ type: EventType, workspace workspaceID: UUID, conversation conversationID: UUID? = nil,
        actor actorID: UUID? = nil, payload: some Encodable & Sendable, in tx: WriteTransaction
    ) async throws {
        try await appendAll([Pending(workspace: workspaceID, type: type, conversation: conversationID, actor: actorID,
                                     payload: try json(payload))], in: tx)
    }

    public static func json(_ payload: some Encodable) throws -> String {
        String(decoding: try JSON.encoder.encode(payload), as: UTF8.self)
    }

    /// Appends events with one counter step and one insert per workspace, in the order given.
    static func appendAll(_ events: [Pending], in tx: WriteTransaction) async throws {
        var byWorkspace: [UUID: [Pending]] = [:]
        for event in events { byWorkspace[event.workspace, default: []].append(event) }
        let now = tx.now
        // Counters are taken in one order (by workspace id), so two writes to several workspaces cannot deadlock.
        for (workspace, list) in byWorkspace.sorted(by: { $0.key.uuidString < $1.key.uuidString }) {
            let last = try await tx.advance(.event, by: list.count, in: workspace)
            var seq = last - Int64(list.count)
            let rows: [SQLQueryString] = list.map { event in
                seq += 1
                return """
                    (\(bind: UUID.ordered()), \(bind: workspace), \(bind: seq), \(bind: event.type.rawValue), \(bind: event.conversation),
                     \(bind: event.actor), \(bind: event.payload), \(bind: now))
                    """
            }
            try await tx.sql.raw("""
                INSERT INTO events (id, workspace_id, seq, type, conversation_id, actor_id, payload, created_at)
                VALUES \(rows.joined(separator: ", "))
                """).run()
            try await tx.eventsAppended(in: workspace)
        }
    }

    /// The id of the workspace's latest committed event (0 before the first): a client current to it gets the rest
    /// with `after`.
    public static func lastID(workspace workspaceID: UUID, on sql: any SQLDatabase) async throws -> Int64 {
        try await sql.raw("""
            SELECT value FROM workspace_counters WHERE workspace_id = \(bind: workspaceID) AND name = 'event'
            """).first()?.decode(column: "value", as: Int64.self) ?? 0
    }

    /// Events of a workspace after `seq`, oldest first.
    public static func after(_ seq: Int64, workspace workspaceID: UUID, limit: Int, on db: any Database) async throws -> [Event] {
        try await Event.query(on: db)
            .filter(\.$workspace.$id == workspaceID)
            .filter(\.$seq > seq)
            .sort(\.$seq, .ascending)
            .limit(limit)
            .all()
    }
}

public enum JSON {
    /// A value stored as JSON text (a column, a message), or nil when absent or unreadable.
    public static func decode<T: Decodable>(_ type: T.Type, from text: String?) -> T? {
        text.flatMap { try? decoder.decode(T.self, from: Data($0.utf8)) }
    }

    public static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var c = encoder.singleValueContainer()
            try c.encode(ISO8601.string(date))
        }
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return encoder
    }()

    public static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let c = try decoder.singleValueContainer()
            let string = try c.decode(String.self)
            guard let date = ISO8601.date(string) else {
                throw DecodingError.dataCorruptedError(in: c, debugDescription: "expected an ISO-8601 date, got \(string)")
            }
            return date
        }
        return decoder
    }()
}

public enum ISO8601 {
    private static let withFraction = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
    private static let plain = Date.ISO8601FormatStyle()

    public static func string(_ date: Date) -> String { withFraction.format(date) }

    /// Parses RFC 3339 times with or without fractional seconds, with `Z` or a numeric offset.
    public static func date(_ string: String) -> Date? {
        if let d = try? withFraction.parse(string) { return d }
        if let d = try? plain.parse(string) { return d }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let d = formatter.date(from: string) { return d }
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: string)
    }
}
