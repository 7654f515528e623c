import FluentKit
import Foundation

/// A named set of service-level targets (`ServiceLevelRules`, stored as JSON). One policy of a workspace may be
/// its default, used by inboxes that name none.
public final class ServiceLevelPolicy: Model, @unchecked Sendable {
    public static let schema = "sla_policies"

    @ID(key: .id) public var id: UUID?
    @Parent(key: "workspace_id") public var workspace: Workspace
    @Field(key: "name") public var name: String
    @Field(key: "is_default") public var isDefault: Bool
    @Field(key: "rules") public var rulesJSON: String
    @Field(key: "created_at") public var createdAt: Date

    public init() {}

    public var rules: ServiceLevelRules {
        get { JSON.decode(ServiceLevelRules.self, from: rulesJSON) ?? ServiceLevelRules(rules: []) }
        set { rulesJSON = (try? EventLog.json(newValue)) ?? "{}" }
    }
}

/// Automatic answers of an inbox, per language: the first answer to a new conversation and the after-hours answer.
/// Templates may use `{number}`, `{name}`, `{inbox}`, `{next_opening}` and `{hours}`.
public struct AutoReplies: Codable, Sendable, Equatable {
    public var firstAnswer: [String: String]
    public var afterHours: [String: String]
    public var language: String
    /// Demand spikes: above this many unassigned open conversations in the inbox, new customers get `busy`
    /// (with `{wait}`, estimated from recent first responses) and supervisors are told.
    public var capacity: Int?
    public var busy: [String: String]

    public init(firstAnswer: [String: String] = [:], afterHours: [String: String] = [:], language: String = "es",
                capacity: Int? = nil, busy: [String: String] = [:]) {
        self.firstAnswer = firstAnswer
        self.afterHours = afterHours
        self.language = language
        self.capacity = capacity
        self.busy = busy
    }

    enum CodingKeys: String, CodingKey { case firstAnswer = "first_answer", afterHours = "after_hours", language, capacity, busy }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        firstAnswer = try c.decodeIfPresent([String: String].self, forKey: .firstAnswer) ?? [:]
        afterHours = try c.decodeIfPresent([String: String].self, forKey: .afterHours) ?? [:]
        language = try c.decodeIfPresent(String.self, forKey: .language) ?? "es"
        capacity = try c.decodeIfPresent(Int.self, forKey: .capacity)
        busy = try c.decodeIfPresent([String: String].self, forKey: .busy) ?? [:]
    }

    public static let examples = AutoReplies(
        firstAnswer: ["es": "Gracias por escribirnos. Tu solicitud fue recibida y un agente te responderá pronto. Tu número de solicitud es el {number}.",
                      "en": "Thanks for writing to us. Your request was received and an agent will answer soon. Your request number is {number}."],
        afterHours: ["es": "Gracias por escribirnos. Estamos fuera de horario ({hours}); te responderemos desde el {next_opening}. Tu número de solicitud es el {number}.",
                     "en": "Thanks for writing to us. We are closed now ({hours}); we will answer from {next_opening}. Your request number is {number}."])
}
