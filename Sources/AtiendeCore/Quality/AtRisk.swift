import FluentKit
import Foundation
import SQLKit

/// A customer the desk should worry about, and why: a detractor, a low CSAT, a breached service level, the third
/// contact in a week about the same reason, or a message that reads angry. One entry per conversation and reason,
/// flagged in the transaction of what caused it; a supervisor records what was done, and the time it took shows.
public final class AtRiskEntry: Model, @unchecked Sendable {
    public static let schema = "at_risk"

    public enum Kind: String, Codable, Sendable, CaseIterable {
        case detractor, lowCSAT = "low_csat", slaBreach = "sla_breach", repeatContact = "repeat_contact", angry
    }

    /// What was done to win the customer back.
    public enum Action: String, Codable, Sendable, CaseIterable {
        case calledBack = "called_back", compensated, apologized, fixed, other
    }

    @ID(key: .id) public var id: UUID?
    @Parent(key: "workspace_id") public var workspace: Workspace
    @Field(key: "contact_id") public var contactID: UUID
    @Field(key: "conversation_id") public var conversationID: UUID
    @Field(key: "kind") public var kind: Kind
    /// Why, in a few words: "NPS 3: tardaron mucho", "first_response", "pésimo, inaceptable", "envío ×3".
    @Field(key: "detail") public var detail: String
    /// The conversation's contact reason when it was flagged.
    @OptionalField(key: "reason") public var reason: String?
    @Field(key: "created_at") public var createdAt: Date
    @OptionalField(key: "handled_at") public var handledAt: Date?
    @OptionalField(key: "handled_by") public var handledBy: UUID?
    @OptionalField(key: "action") public var action: Action?
    @OptionalField(key: "note") public var note: String?

    public init() {}
}

extension AtRiskEntry: WorkspaceScoped {
    public static var workspaceIDKey: KeyPath<AtRiskEntry, FieldProperty<AtRiskEntry, UUID>> { \.$workspace.$id }
    public static var displayName: String { "at-risk entry" }
}

/// Flags at-risk customers from the changes that show it.
public struct AtRiskReaction: Reaction {
    /// This many conversations of one contact about one reason within `repeatWindow` flag the last one.
    public static let repeatCount = 3
    public static let repeatWindow: TimeInterval = 7 * 86_400

    public init() {}

    struct Flag {
        var workspace: UUID
        var contact: UUID
        var conversation: UUID
        var kind: AtRiskEntry.Kind
        var detail: String
        var reason: String?
    }

    public func react(to changes: [DomainChange], in tx: WriteTransaction) async throws {
        var flags: [Flag] = []
        for change in changes {
            switch change {
            case .messagesReceived(let arrivals):
                for arrival in arrivals where !arrival.automatic {
                    guard let c = arrival.conversation else { continue }
                    let terms = AngerLexicon.angryTerms(in: arrival.text)
                    if !terms.isEmpty {
                        flags.append(Flag(workspace: arrival.workspaceID, contact: c.contactID, conversation: c.id, kind: .angry,
                                          detail: String(terms.joined(separator: ", ").prefix(200)), reason: c.contactReason))
                    }
                }
            case .conversationChanged(let change) where change.before.contactReason != change.after.contactReason:
                guard let reason = change.after.contactReason else { continue }
                let c = change.after
                let count = try await Conversation.query(on: tx.db).filter(\.$workspace.$id == change.workspaceID)
                    .filter(\.$contact.$id == c.contactID).filter(\.$contactReason == reason)
                    .filter(\.$createdAt >= tx.now.addingTimeInterval(-Self.repeatWindow)).count()
                if count >= Self.repeatCount {
                    flags.append(Flag(workspace: change.workspaceID, contact: c.contactID, conversation: c.id, kind: .repeatContact,
                                      detail: "\(reason) ×\(count)", reason: reason))
                }
            case .surveyAnswered(let answer):
                let survey = answer.survey
                guard let score = survey.score, survey.kind.isDetractor(score) else { continue }
                flags.append(Flag(workspace: answer.workspaceID, contact: survey.contactID, conversation: survey.conversationID,
                                  kind: survey.kind == .nps ? .detractor : .lowCSAT,
                                  detail: String(("\(survey.kind.rawValue.uppercased()) \(score)" + (survey.comment.map { ": " + $0 } ?? "")).prefix(300)),
                                  reason: survey.contactReason))
            case .serviceLevelAlert(let alert) where alert.alert == .breach:
                let subject = alert.subject
                guard let c = try await Conversation.query(on: tx.db).filter(\.$workspace.$id == subject.workspaceID)
                    .filter(\.$id == subject.id).first() else { continue }
                flags.append(Flag(workspace: subject.workspaceID, contact: c.$contact.id, conversation: subject.id, kind: .slaBreach,
                                  detail: alert.clock.rawValue, reason: c.contactReason))
            default:
                continue
            }
        }
        try await Self.write(flags, in: tx)
    }

    /// One entry per conversation and kind: a second reason of the same kind adds nothing.
    static func write(_ flags: [Flag], in tx: WriteTransaction) async throws {
        for flag in flags {
            try await tx.sql.raw("""
                INSERT INTO at_risk (id, workspace_id, contact_id, conversation_id, kind, detail, reason, created_at)
                VALUES (\(bind: UUID()), \(bind: flag.workspace), \(bind: flag.contact), \(bind: flag.conversation), \(bind: flag.kind.rawValue),
                        \(bind: flag.detail), \(bind: flag.reason), \(bind: tx.now))
                ON CONFLICT (conversation_id, kind) DO NOTHING
                """).run()
        }
    }
}

/// The at-risk list: read, and what was done recorded.
public struct AtRiskService: Sendable {
    public let store: Store
    public init(store: Store) { self.store = store }

    public enum Status: String, Sendable, CaseIterable { case open, handled, all }

    public func list(workspace: UUID, status: Status, since: Date, limit: Int = 200) async throws -> [AtRiskEntry] {
        var query = AtRiskEntry.query(on: store.db).filter(\.$workspace.$id == workspace).filter(\.$createdAt >= since)
        switch status {
        case .open: query = query.filter(\.$handledAt == nil)
        case .handled: query = query.filter(\.$handledAt != nil)
        case .all: break
        }
        return try await query.sort(\.$createdAt, .descending).limit(limit).all()
    }

    /// A supervisor says what was done; an entry is handled once.
    public func handle(_ id: UUID, workspace: UUID, action: AtRiskEntry.Action, note: String?, by user: UUID) async throws -> AtRiskEntry {
        let note = note.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.flatMap { $0.isEmpty ? nil : $0 }
        guard (note?.count ?? 0) <= 500 else { throw AtiendeError.invalid("the note is 500 characters at most", code: "invalid_note") }
        return try await store.write { tx in
            try await tx.lockWorkspace(workspace)
            guard let entry = try await AtRiskEntry.query(on: tx.db).filter(\.$workspace.$id == workspace).filter(\.$id == id).first() else {
                throw AtiendeError.notFound("at-risk entry")
            }
            guard entry.handledAt == nil else { throw AtiendeError(.conflict, code: "already_handled", "this entry was already handled") }
            entry.handledAt = tx.now
            entry.handledBy = user
            entry.action = action
            entry.note = note
            try await entry.save(on: tx.db)
            try await EventLog.append(.atRiskHandled, workspace: workspace, conversation: entry.conversationID, actor: user,
                                      payload: RecordEventPayload(id: id, name: entry.kind.rawValue, detail: action.rawValue, changes: ["handled"]), in: tx)
            return entry
        }
    }

    /// Entries per contact reason and week (Monday first, in `zone`), the last `weeks` weeks: what makes customers unhappy.
    public func trends(workspace: UUID, weeks: Int, now: Date, zone: TimeZone) async throws -> (weeks: [Date], rows: [String: [Int]]) {
        var calendar = Calendar(identifier: .iso8601)
        calendar.timeZone = zone
        let thisWeek = calendar.dateInterval(of: .weekOfYear, for: now)?.start ?? now
        let starts = (0..<weeks).reversed().compactMap { calendar.date(byAdding: .weekOfYear, value: -$0, to: thisWeek) }
        guard let first = starts.first else { return ([], [:]) }
        let entries = try await AtRiskEntry.query(on: store.db).filter(\.$workspace.$id == workspace).filter(\.$createdAt >= first)
            .field(\.$createdAt).field(\.$reason).all()
        var rows: [String: [Int]] = [:]
        for entry in entries {
            guard let index = starts.lastIndex(where: { $0 <= entry.createdAt }) else { continue }
            rows[entry.reason ?? "", default: Array(repeating: 0, count: starts.count)][index] += 1
        }
        return (starts, rows)
    }
}
