import FluentKit
import Foundation

/// Something given to a customer to make up for a bad experience — a discount, a credit, a refund, bonus service
/// time — recorded on their conversation. Within the granting person's authority it is granted at once; above it, it
/// waits as a request until a supervisor approves or rejects it, and the customer hears of it only once it is granted.
public final class Compensation: Model, @unchecked Sendable {
    public static let schema = "compensations"

    public enum Kind: String, Codable, Sendable, CaseIterable { case discount, credit, refund, bonusTime = "bonus_time" }
    public enum Status: String, Codable, Sendable, CaseIterable {
        /// Within the granter's limits: given at once.
        case granted
        /// Above them: waits for a supervisor.
        case pending
        case approved, rejected

        /// Given to the customer (counted, told, sent to integrations).
        public var isGiven: Bool { self == .granted || self == .approved }
    }

    @ID(key: .id) public var id: UUID?
    @Parent(key: "workspace_id") public var workspace: Workspace
    @Field(key: "conversation_id") public var conversationID: UUID
    @Field(key: "contact_id") public var contactID: UUID
    @Field(key: "kind") public var kind: Kind
    /// In hundredths of `unit` (cents; for bonus time, hundredths of an hour).
    @Field(key: "amount_cents") public var amountCents: Int64
    /// An ISO 4217 currency (USD, CLP, EUR), or HOURS for bonus time.
    @Field(key: "unit") public var unit: String
    @Field(key: "reason") public var reason: String
    /// What the customer is told when it is given (nil: a standard sentence in their language).
    @OptionalField(key: "message") public var message: String?
    @Field(key: "status") public var status: Status
    @Field(key: "requested_by") public var requestedBy: UUID
    @OptionalField(key: "decided_by") public var decidedBy: UUID?
    @OptionalField(key: "decided_at") public var decidedAt: Date?
    @OptionalField(key: "decision_note") public var decisionNote: String?
    @Field(key: "created_at") public var createdAt: Date

    public init() {}

    /// "20.00 USD", "1.50 HOURS".
    public var amountText: String { Self.amountText(amountCents, unit: unit) }

    public static func amountText(_ cents: Int64, unit: String) -> String {
        let whole = cents / 100, part = abs(cents % 100)
        return "\(whole)" + (part == 0 ? "" : String(format: ".%02d", part)) + " " + unit
    }
}

extension Compensation: WorkspaceScoped {
    public static var workspaceIDKey: KeyPath<Compensation, FieldProperty<Compensation, UUID>> { \.$workspace.$id }
    public static var displayName: String { "compensation" }
}

/// How much each role may give on its own, per grant and per calendar month, per unit. A unit with no limit for a
/// role means every grant of it by that role needs a supervisor (admins have none unless one is set: they need nobody).
public struct CompensationPolicy: Codable, Sendable, Equatable {
    public struct Limit: Codable, Sendable, Equatable {
        public var role: Role
        public var unit: String
        /// In hundredths of the unit.
        public var perGrantCents: Int64
        public var perMonthCents: Int64

        public init(role: Role, unit: String, perGrant: Int64, perMonth: Int64) {
            self.role = role
            self.unit = unit
            self.perGrantCents = perGrant
            self.perMonthCents = perMonth
        }

        enum CodingKeys: String, CodingKey { case role, unit, perGrantCents = "per_grant_cents", perMonthCents = "per_month_cents" }
    }

    public var limits: [Limit]

    public init(limits: [Limit]) { self.limits = limits }

    /// Agents up to 200 USD a grant and 1,000 a month; supervisors 1,000 and 10,000.
    public static let standard = CompensationPolicy(limits: [
        Limit(role: .agent, unit: "USD", perGrant: 20_000, perMonth: 100_000),
        Limit(role: .supervisor, unit: "USD", perGrant: 100_000, perMonth: 1_000_000),
    ])

    public func limit(for role: Role, unit: String) -> Limit? { limits.first { $0.role == role && $0.unit == unit } }

    static func validUnit(_ unit: String) -> Bool {
        unit == "HOURS" || (unit.count == 3 && unit.allSatisfy { $0.isASCII && $0.isUppercase })
    }

    func validated() throws -> CompensationPolicy {
        var seen = Set<String>()
        for limit in limits {
            guard Self.validUnit(limit.unit) else {
                throw AtiendeError.invalid("a unit is a currency code (USD, CLP) or HOURS", code: "invalid_compensation_policy")
            }
            guard limit.perGrantCents >= 0, limit.perMonthCents >= limit.perGrantCents, limit.perMonthCents <= 100_000_000_000 else {
                throw AtiendeError.invalid("limits are 0 or more, a month's at least a grant's", code: "invalid_compensation_policy")
            }
            guard seen.insert("\(limit.role.rawValue):\(limit.unit)").inserted else {
                throw AtiendeError.invalid("one limit per role and unit", code: "invalid_compensation_policy")
            }
        }
        guard limits.count <= 60 else { throw AtiendeError.invalid("at most 60 limits", code: "invalid_compensation_policy") }
        return self
    }
}

extension Workspace {
    public var compensationPolicy: CompensationPolicy {
        JSON.decode(CompensationPolicy.self, from: compensationJSON) ?? .standard
    }
}

/// A compensation as the API, the events and the integrators' webhooks show it.
public struct CompensationSnapshot: Codable, Sendable, Equatable {
    public var id: UUID
    public var conversationID: UUID
    public var contactID: UUID
    public var kind: Compensation.Kind
    public var amount: Double
    public var unit: String
    public var reason: String
    public var message: String?
    public var status: Compensation.Status
    public var requestedBy: UUID
    public var decidedBy: UUID?
    public var decidedAt: Date?
    public var decisionNote: String?
    public var createdAt: Date

    enum CodingKeys: String, CodingKey {
        case id, kind, amount, unit, reason, message, status
        case conversationID = "conversation_id", contactID = "contact_id", requestedBy = "requested_by", decidedBy = "decided_by"
        case decidedAt = "decided_at", decisionNote = "decision_note", createdAt = "created_at"
    }
}

extension Compensation {
    public var snapshot: CompensationSnapshot {
        CompensationSnapshot(id: id ?? UUID(), conversationID: conversationID, contactID: contactID, kind: kind, amount: Double(amountCents) / 100,
                             unit: unit, reason: reason, message: message, status: status, requestedBy: requestedBy, decidedBy: decidedBy,
                             decidedAt: decidedAt, decisionNote: decisionNote, createdAt: createdAt)
    }
}

public struct CompensationEventPayload: Codable, Sendable {
    public var compensation: CompensationSnapshot
    public var number: Int
}
