import AtiendeCore
import Foundation
import Vapor

/// The OpenAPI 3.1 description of `/api/v1`, generated from the same table that registers the routes.
enum OpenAPIDocument {
    static func serve(_ req: Request) async throws -> Response {
        let data = try JSONSerialization.data(withJSONObject: document(for: APIRoutes.endpoints(maxInboundBytes: 0), channels: req.atiende.channels.kinds.map(\.rawValue)),
                                              options: [.sortedKeys, .withoutEscapingSlashes])
        let response = Response(status: .ok, body: .init(data: data))
        response.headers.contentType = .json
        return response
    }

    static func document(for endpoints: [Endpoint], channels: [String]) -> [String: Any] {
        var paths: [String: [String: Any]] = [:]
        for endpoint in endpoints {
            paths[endpoint.path, default: [:]][endpoint.method.rawValue.lowercased()] = operation(endpoint)
        }
        return [
            "openapi": "3.1.0",
            "info": [
                "title": "Atiende API",
                "version": "1",
                "description": "Omnichannel customer service. Every workspace path needs a personal API token "
                    + "(Authorization: Bearer atd_…) of a member of that workspace; records of other workspaces answer 404.",
            ],
            "paths": paths,
            "components": [
                "securitySchemes": [
                    "bearer": ["type": "http", "scheme": "bearer", "description": "Personal API token (`atiende token create`)"],
                    "channelSignature": [
                        "type": "apiKey", "in": "header", "name": "X-Atiende-Signature",
                        "description": "sha256=<hex HMAC-SHA256(inbox secret, \"<X-Atiende-Timestamp>.<raw body>\")>; "
                            + "X-Atiende-Timestamp in unix seconds, within 5 minutes",
                    ],
                ],
                "schemas": schemas(channels: channels),
            ],
        ]
    }

    static func operation(_ endpoint: Endpoint) -> [String: Any] {
        var op: [String: Any] = ["operationId": endpoint.operationID, "summary": endpoint.summary, "tags": [endpoint.tag]]
        var parameters: [[String: Any]] = endpoint.pathParameters.map { name in
            let schema: [String: Any] = name == "number" ? ["type": "integer"] : ["type": "string", "format": "uuid"]
            return ["name": name, "in": "path", "required": true, "schema": schema]
        }
        parameters += endpoint.query.map { ["name": $0, "in": "query", "required": false, "schema": queryParameter($0)] }
        if !parameters.isEmpty { op["parameters"] = parameters }
        switch endpoint.security {
        case .none: op["security"] = [[String: Any]]()
        case .user, .member: op["security"] = [["bearer": [String]()]]
        case .channelSignature:
            op["security"] = [["channelSignature": [String]()]]
            op["parameters"] = parameters + [["name": "X-Atiende-Timestamp", "in": "header", "required": true, "schema": ["type": "string"]]]
        }
        if let request = endpoint.requestSchema {
            op["requestBody"] = ["required": true, "content": request == "binary"
                ? ["message/rfc822": ["schema": ["type": "string", "format": "binary"]]]
                : ["application/json": ["schema": ref(request)]]]
        }
        var responses: [String: Any] = [:]
        let success = String(endpoint.successStatus)
        if let schema = endpoint.responseSchema {
            let content: [String: Any] = schema == "binary" || schema == "zip"
                ? [schema == "zip" ? "application/zip" : "application/octet-stream": ["schema": ["type": "string", "format": "binary"]]]
                : ["application/json": ["schema": ref(schema)]]
            responses[success] = ["description": "OK", "content": content]
        } else {
            responses[success] = ["description": "Done"]
        }
        let error: [String: Any] = ["content": ["application/json": ["schema": ref("Error")]]]
        var codes = ["400": "Invalid input"]
        switch endpoint.security {
        case .none: codes = [:]
        case .user: codes["401"] = "Missing or invalid token"
        case .member: codes.merge(["401": "Missing or invalid token", "403": "Role too low", "404": "Not found in this workspace"]) { $1 }
        case .channelSignature: codes.merge(["401": "Bad signature or stale timestamp", "413": "Body too large"]) { $1 }
        }
        if endpoint.requestSchema != nil {
            codes["415"] = endpoint.requestSchema == "binary" ? "The body is not message/rfc822" : "The body is not JSON (send Content-Type: application/json)"
            codes["413"] = "Body too large"
        }
        if ![.GET, .HEAD].contains(endpoint.method), case .member = endpoint.security {
            codes["409"] = "Conflicts with the current state (an existing name or member, the last admin, a closed reply window)"
        }
        if endpoint.security == .channelSignature || endpoint.operationID == "checkInbox" {
            codes["503"] = "A provider or file could not be reached now; try again"
        }
        for (code, description) in codes { responses[code] = error.merging(["description": description]) { $1 } }
        op["responses"] = responses
        return op
    }

    static func ref(_ name: String) -> [String: Any] {
        if name.hasPrefix("[") { return ["type": "array", "items": ref(String(name.dropFirst().dropLast()))] }
        return ["$ref": "#/components/schemas/\(name)"]
    }

    static func object(_ properties: [String: Any], required: [String] = []) -> [String: Any] {
        var schema: [String: Any] = ["type": "object", "properties": properties]
        if !required.isEmpty { schema["required"] = required }
        return schema
    }

    static var string: [String: Any] { ["type": "string"] }
    /// A name as the server takes it: 1 to 120 characters after trimming.
    static var name: [String: Any] { ["type": "string", "minLength": 1, "maxLength": 120, "pattern": "\\S"] }
    static var url: [String: Any] { ["type": "string", "format": "uri", "pattern": "^https?://", "maxLength": 2000] }
    static var language: [String: Any] { ["type": "string", "enum": ["es", "en"]] }
    static var seconds: [String: Any] { ["type": "integer", "minimum": 1, "maximum": 366 * 86_400] }

    static func queryParameter(_ name: String) -> [String: Any] {
        switch name {
        case "limit": ["type": "integer", "minimum": 1, "maximum": 200]
        case "since": ["type": "integer", "minimum": 0]
        default: ["type": "string"]
        }
    }
    static var uuid: [String: Any] { ["type": "string", "format": "uuid"] }
    static var dateTime: [String: Any] { ["type": "string", "format": "date-time"] }
    static var integer: [String: Any] { ["type": "integer"] }
    static var number: [String: Any] { ["type": "number"] }
    static var boolean: [String: Any] { ["type": "boolean"] }
    static var encodedFiles: [String: Any] {
        ["type": "array", "items": object(["filename": string, "content_type": string, "data": ["type": "string", "contentEncoding": "base64"]],
                                          required: ["filename", "content_type", "data"])]
    }
    static func nullable(_ schema: [String: Any]) -> [String: Any] { ["oneOf": [schema, ["type": "null"]]] }
    static func enumeration<E: CaseIterable & RawRepresentable>(_ type: E.Type) -> [String: Any] where E.RawValue == String {
        ["type": "string", "enum": E.allCases.map(\.rawValue)]
    }
    static func page(_ item: String) -> [String: Any] {
        object(["data": ["type": "array", "items": ref(item)], "next_cursor": nullable(string)], required: ["data", "next_cursor"])
    }

    static func schemas(channels names: [String]) -> [String: Any] {
        let channel: [String: Any] = ["type": "string", "enum": names]
        let variants: [String: Any] = ["type": "object", "description": "Text by language; {{contact.first_name}} and the other variables are filled in",
                                       "properties": ["es": ["type": "string", "maxLength": 5000], "en": ["type": "string", "maxLength": 5000]],
                                       "additionalProperties": false]
        return [
            "Error": object(["error": object(["code": string, "message": string, "parameters": ["type": "object", "additionalProperties": string]], required: ["code", "message"])], required: ["error"]),
            "InboundMessage": object([
                "message_id": string, "text": string, "sent_at": dateTime, "thread_id": string, "subject": string, "automatic": boolean,
                "from": object(["id": string, "name": string, "email": string, "phone": string]),
                "attachments": encodedFiles,
            ], required: ["message_id", "from"]),
            "InboundAccepted": object(["conversation_number": integer, "conversation_id": uuid, "message_id": uuid, "duplicate": boolean],
                                      required: ["conversation_number", "conversation_id", "message_id", "duplicate"]),
            "Me": object(["id": uuid, "email": string, "name": string, "language": string, "time_zone": string,
                          "workspaces": ["type": "array", "items": object(["id": uuid, "name": string, "slug": string, "role": enumeration(Role.self)])]]),
            "Inbox": object(["id": uuid, "name": string, "channel": channel, "webhook_url": nullable(string),
                             "language": nullable(string), "settings": ["type": "object", "additionalProperties": string],
                             "reopen_window_seconds": integer, "team_id": nullable(uuid), "is_active": boolean,
                             "inbound_url": nullable(string), "embed_code": nullable(string), "created_at": dateTime,
                             "secret": ["type": "string", "description": "Only in the response that created or rotated it"]]),
            "InboxCreate": object(["name": name, "channel": channel, "webhook_url": url, "language": language,
                                   "reopen_window_seconds": ["type": "integer", "minimum": 0, "maximum": 2_592_000], "team_id": uuid,
                                   "settings": ["type": "object", "additionalProperties": string],
                                   "secrets": ["type": "object", "additionalProperties": string]], required: ["name", "channel"]),
            "InboxUpdate": object(["name": name, "webhook_url": url, "language": language,
                                   "reopen_window_seconds": ["type": "integer", "minimum": 0, "maximum": 2_592_000],
                                   "team_id": nullable(uuid), "is_active": boolean, "settings": ["type": "object", "additionalProperties": string],
                                   "secrets": ["type": "object", "additionalProperties": string]]),
            "Member": object(["id": uuid, "email": string, "name": string, "role": enumeration(Role.self), "is_active": boolean]),
            "MemberCreate": object(["email": ["type": "string", "format": "email", "maxLength": 320], "role": enumeration(Role.self)],
                                   required: ["email", "role"]),
            "MemberInvitation": object(["email": string, "role": enumeration(Role.self), "status": ["type": "string", "enum": ["invited"]],
                                        "invitation_url": string, "expires_at": dateTime],
                                       required: ["email", "role", "status", "invitation_url", "expires_at"]),
            "MemberUpdate": object(["role": enumeration(Role.self)], required: ["role"]),
            "Team": object(["id": uuid, "name": string, "member_ids": ["type": "array", "items": uuid]]),
            "TeamBody": object(["name": name, "member_ids": ["type": "array", "items": uuid]]),
            "CannedResponse": object(["id": uuid, "shortcut": string, "title": string, "variants": variants, "shared": boolean,
                                      "owner_id": nullable(uuid), "use_count": integer, "updated_at": dateTime]),
            "CannedResponseBody": object(["shortcut": ["type": "string", "pattern": "^/?[A-Za-z0-9_-]{1,40}$"], "title": name,
                                          "variants": variants, "shared": boolean]),
            "FilledCannedResponse": object(["text": string, "language": string, "missing": ["type": "array", "items": string]],
                                           required: ["text", "language", "missing"]),
            "MacroActions": object([
                "reply": object(["canned_response_id": uuid, "text": ["type": "string", "maxLength": 10000]]),
                "note": ["type": "string", "maxLength": 10000],
                "add_labels": ["type": "array", "items": string], "remove_labels": ["type": "array", "items": string],
                "status": ["type": "string", "enum": ["open", "pending", "resolved"]], "priority": enumeration(Priority.self),
                "assignee": ["type": "string", "description": "me, none, or a member's id"],
                "team": ["type": "string", "description": "none, or a team's id"],
            ]),
            "Macro": object(["id": uuid, "name": string, "actions": ref("MacroActions"), "shared": boolean, "owner_id": nullable(uuid),
                             "use_count": integer, "updated_at": dateTime]),
            "MacroBody": object(["name": name, "actions": ref("MacroActions"), "shared": boolean]),
            "Availability": object(["user_id": uuid, "name": string, "role": enumeration(Role.self), "status": enumeration(AgentStatus.self),
                                    "chosen": enumeration(AgentStatus.self), "open": ["type": "object", "additionalProperties": integer],
                                    "capacity": ["type": "object", "additionalProperties": integer],
                                    "languages": ["type": "array", "items": string]]),
            "AvailabilityBody": object(["status": enumeration(AgentStatus.self)], required: ["status"]),
            "MemberRouting": object(["capacity": ["type": "object", "additionalProperties": ["type": "integer", "minimum": 0, "maximum": 1000]],
                                     "languages": ["type": "array", "items": ["type": "string", "minLength": 2, "maxLength": 2]]]),
            "AssignmentPolicy": object(["mode": enumeration(AssignmentPolicy.Mode.self), "team_id": nullable(uuid), "match_language": boolean,
                                        "chat_handoff_minutes": nullable(["type": "integer", "minimum": 1, "maximum": 43_200]),
                                        "no_reply_minutes": nullable(["type": "integer", "minimum": 1, "maximum": 43_200])]),
            "RuleConditions": object(["match": ["type": "string", "enum": ["all", "any"]],
                                      "conditions": ["type": "array", "maxItems": 20, "items": object([
                                          "field": enumeration(RuleCondition.Field.self), "op": enumeration(RuleCondition.Op.self),
                                          "value": ["type": "string", "maxLength": 200], "key": ["type": "string", "maxLength": 64]],
                                          required: ["field", "op"])]]),
            "RuleAction": object(["type": enumeration(RuleAction.Kind.self), "value": ["type": "string", "maxLength": 2000],
                                  "text": ["type": "string", "maxLength": 10000]], required: ["type"]),
            "AutomationRule": object(["id": uuid, "name": string, "position": integer, "is_active": boolean,
                                      "trigger": enumeration(RuleTrigger.self), "after_minutes": nullable(integer),
                                      "conditions": ref("RuleConditions"), "actions": ["type": "array", "items": ref("RuleAction")],
                                      "stops": boolean, "run_count": integer, "updated_at": dateTime,
                                      "secret": ["type": "string", "description": "Only in the response that created the rule"]]),
            "AutomationRuleBody": object(["name": name, "trigger": enumeration(RuleTrigger.self),
                                          "after_minutes": ["type": "integer", "minimum": 1, "maximum": 129_600],
                                          "conditions": ref("RuleConditions"),
                                          "actions": ["type": "array", "minItems": 1, "maxItems": 10, "items": ref("RuleAction")],
                                          "stops": boolean, "is_active": boolean, "position": integer]),
            "AutomationPreview": object(["trigger": enumeration(RuleTrigger.self), "conditions": ref("RuleConditions")], required: ["conditions"]),
            "AutomationPreviewResult": object(["count": integer, "numbers": ["type": "array", "items": integer]]),
            "ReportTime": object(["count": integer, "median": nullable(number), "p90": nullable(number), "mean": nullable(number), "total": number]),
            "ReportFigures": object(["created": integer, "resolved": integer, "reopened": integer, "replies": integer, "fcr": integer,
                                     "resolution_rate": nullable(number), "fcr_rate": nullable(number), "reopen_rate": nullable(number),
                                     "replies_per_resolved": nullable(number), "derived": integer, "derivation_rate": nullable(number),
                                     "first_response": ref("ReportTime"), "next_response": ref("ReportTime"),
                                     "resolution": ref("ReportTime"), "first_response_business": ref("ReportTime"),
                                     "next_response_business": ref("ReportTime"), "resolution_business": ref("ReportTime"), "csat_answers": integer, "csat": nullable(number), "nps_answers": integer,
                                     "nps_promoters": integer, "nps_detractors": integer, "nps": nullable(number),
                                     "first_response_breaches": integer, "first_response_compliance": nullable(number),
                                     "next_response_compliance": nullable(number), "resolution_compliance": nullable(number),
                                     "handle": ref("ReportTime"), "handle_per_resolved": nullable(number)]),
            "ReportPeriod": object(["from": dateTime, "to": dateTime]),
            "ReportOverview": object(["period": ref("ReportPeriod"), "figures": ref("ReportFigures"), "previous_period": ref("ReportPeriod"),
                                      "previous": ref("ReportFigures")]),
            "ReportRow": object(["value": string, "figures": ref("ReportFigures")]),
            "ReportConversation": object(ConversationExport.schema),
            "ReportSubscription": object(["weekly": boolean, "mail_available": boolean], required: ["weekly"]),
            "AtRiskEntry": object(["id": uuid, "contact_id": uuid, "conversation_id": uuid, "kind": enumeration(AtRiskEntry.Kind.self),
                                   "detail": string, "reason": nullable(string), "created_at": dateTime, "handled_at": nullable(dateTime),
                                   "handled_by": nullable(uuid), "action": nullable(enumeration(AtRiskEntry.Action.self)), "note": nullable(string)]),
            "AtRiskHandle": object(["action": enumeration(AtRiskEntry.Action.self), "note": ["type": "string", "maxLength": 500]], required: ["action"]),
            "CompensationPolicy": object(["limits": ["type": "array", "items": object(["role": enumeration(Role.self), "unit": string,
                                                                                       "per_grant": number, "per_month": number])]]),
            "CompensationBody": object(["kind": enumeration(Compensation.Kind.self), "amount": number, "unit": string,
                                        "reason": ["type": "string", "maxLength": 500], "message": ["type": "string", "maxLength": 2000]],
                                       required: ["kind", "amount", "unit", "reason"]),
            "CompensationDecision": object(["note": ["type": "string", "maxLength": 500]]),
            "Compensation": object(["id": uuid, "conversation_id": uuid, "contact_id": uuid, "kind": enumeration(Compensation.Kind.self),
                                    "amount": number, "unit": string, "reason": string, "message": nullable(string),
                                    "status": enumeration(Compensation.Status.self), "requested_by": uuid, "decided_by": nullable(uuid),
                                    "decided_at": nullable(dateTime), "decision_note": nullable(string), "created_at": dateTime]),
            "SurveyPolicy": object(["kind": nullable(enumeration(Survey.Kind.self)), "trigger": enumeration(SurveyPolicy.Trigger.self),
                                    "delay_minutes": ["type": "integer", "minimum": 0, "maximum": 10080],
                                    "once_per_days": ["type": "integer", "minimum": 0, "maximum": 365], "detractor_user_id": nullable(uuid)]),
            "SurveyRequest": object(["kind": enumeration(Survey.Kind.self)]),
            "Survey": object(["id": uuid, "conversation_id": uuid, "contact_id": uuid, "inbox_id": uuid, "channel": string,
                              "kind": enumeration(Survey.Kind.self), "status": ["type": "string", "enum": ["scheduled", "sent", "answered", "skipped"]],
                              "agent_id": nullable(uuid), "team_id": nullable(uuid), "contact_reason": nullable(string), "score": nullable(integer),
                              "first_score": nullable(integer), "comment": nullable(string), "requested_by": nullable(uuid), "created_at": dateTime,
                              "sent_at": nullable(dateTime), "answered_at": nullable(dateTime)]),
            "FollowUp": object(["id": uuid, "kind": ["type": "string", "enum": ["reminder", "message"]], "due_at": dateTime, "text": nullable(string),
                                "user_id": uuid, "done_at": nullable(dateTime),
                                "outcome": nullable(["type": "string", "enum": ["reminded", "sent", "skipped", "failed", "cancelled"]])]),
            "FollowUpBody": object(["kind": ["type": "string", "enum": ["reminder", "message"]], "due_at": dateTime,
                                    "text": ["type": "string", "maxLength": 10000]], required: ["kind", "due_at"]),
            "Identity": object(["kind": enumeration(IdentityKind.self), "value": string]),
            "Contact": object(["id": uuid, "name": nullable(string), "email": nullable(string), "phone": nullable(string),
                               "document_id": nullable(string), "attributes": ["type": "object", "additionalProperties": string],
                               "labels": ["type": "array", "items": string], "identities": ["type": "array", "items": ref("Identity")],
                               "created_at": dateTime, "erased_at": nullable(dateTime)]),
            "ContactPage": page("Contact"),
            "ContactDetail": object(["contact": ref("Contact"), "conversations": ["type": "array", "items": ref("Conversation")],
                                     "duplicates": ["type": "array", "items": object(["id": uuid, "other_contact_id": uuid, "reason": string])]]),
            "ContactUpdate": object(["name": nullable(string), "email": nullable(string), "phone": nullable(string),
                                     "document_id": nullable(string), "attributes": ["type": "object", "additionalProperties": string],
                                     "labels": ["type": "array", "items": string]]),
            "ContactMerge": object(["source_id": uuid], required: ["source_id"]),
            "PrivacyTally": object(["contacts": integer, "identities": integer, "conversations": integer, "messages": integer,
                                    "attachments": integer, "attachment_bytes": integer, "surveys": integer, "compensations": integer]),
            "RetentionPolicy": object(["months": nullable(["type": "integer", "minimum": 1, "maximum": 600]),
                                       "action": enumeration(RetentionPolicy.Action.self)]),
            "ErasureRequest": object(["confirm": ["type": "boolean", "enum": [true]]], required: ["confirm"]),
            "Conversation": object([
                "id": uuid, "number": integer, "inbox_id": uuid, "contact_id": uuid, "channel": channel,
                "status": enumeration(ConversationStatus.self), "priority": enumeration(Priority.self), "assignee_id": nullable(uuid),
                "team_id": nullable(uuid), "labels": ["type": "array", "items": string], "contact_reason": nullable(string),
                "subject": nullable(string), "thread_id": nullable(string), "snoozed_until": nullable(dateTime),
                "created_at": dateTime, "updated_at": dateTime, "last_message_at": dateTime, "waiting_since": nullable(dateTime),
                "first_response_at": nullable(dateTime), "resolved_at": nullable(dateTime), "message_count": integer,
            ]),
            "ConversationPage": page("Conversation"),
            "ConversationUpdate": object([
                "status": enumeration(ConversationStatus.self), "snoozed_until": dateTime, "assignee_id": nullable(uuid),
                "team_id": nullable(uuid), "priority": enumeration(Priority.self), "labels": ["type": "array", "items": string],
                "contact_reason": nullable(string),
            ]),
            "Attachment": object(["id": uuid, "filename": string, "content_type": string, "size": integer, "sha256": string]),
            "Message": object([
                "id": uuid, "conversation_id": uuid, "kind": enumeration(MessageKind.self), "sender_type": string,
                "sender_id": nullable(uuid), "text": string, "provider_message_id": nullable(string),
                "delivery_status": nullable(enumeration(DeliveryStatus.self)), "delivery_error": nullable(string),
                "sent_at": nullable(dateTime), "created_at": dateTime, "attachments": ["type": "array", "items": ref("Attachment")],
            ]),
            "MessagePage": page("Message"),
            "ServiceLevelTargets": object(["first_response": seconds, "next_response": seconds, "resolution": seconds]),
            "ServiceLevelRules": object([
                "rules": ["type": "array", "items": object(["channel": channel, "priority": enumeration(Priority.self),
                                                            "targets": ref("ServiceLevelTargets")], required: ["targets"])],
                "business_time": boolean, "warn_at_percent": ["type": "integer", "minimum": 1, "maximum": 99], "bot_answers_count": boolean,
                "escalate_priority": enumeration(Priority.self), "escalate_team_id": uuid, "notify_in_business_hours": boolean],
                                        required: ["rules"]),
            "ServiceLevelPolicy": object(["id": uuid, "name": string, "is_default": boolean, "rules": ref("ServiceLevelRules")],
                                         required: ["id", "name", "is_default", "rules"]),
            "ServiceLevelPolicyBody": object(["name": name, "is_default": boolean, "rules": ref("ServiceLevelRules")]),
            "BusinessHours": object([
                "time_zone": string,
                "week": ["type": "object", "additionalProperties": ["type": "array", "items": object(["start": integer, "end": integer])]],
                "holidays": ["type": "array", "items": object(["date": string, "name": string])]], required: ["time_zone", "week"]),
            "InboxServiceLevels": object([
                "business_hours": nullable(ref("BusinessHours")), "sla_policy_id": nullable(uuid),
                "auto_replies": nullable(object(["first_answer": ["type": "object", "additionalProperties": string],
                                                 "after_hours": ["type": "object", "additionalProperties": string], "language": string,
                                                 "capacity": integer, "busy": ["type": "object", "additionalProperties": string]]))]),
            "ServiceLevelReport": object(["from": dateTime, "to": dateTime, "group_by": string,
                                          "groups": ["type": "array", "items": ["type": "object"]]]),
            "MessageCreate": object(["text": string, "private": boolean, "attachments": encodedFiles, "via_inbox_id": uuid, "canned_response_id": uuid,
                                     "template": object(["name": string, "language": string, "parameters": ["type": "array", "items": string]],
                                                        required: ["name", "language"])]),
            "InboxCheck": object(["ok": boolean, "detail": string]),
            "Event": object(["id": integer, "type": enumeration(EventType.self), "conversation_id": uuid, "actor_id": uuid,
                             "created_at": dateTime, "payload": ["type": "object"]], required: ["id", "type", "created_at", "payload"]),
            "EventPage": object(["data": ["type": "array", "items": ref("Event")], "last_id": integer]),
            "AuditEntry": object(["id": integer, "type": enumeration(EventType.self), "actor_id": uuid, "actor_name": nullable(string),
                                  "created_at": dateTime, "payload": ["type": "object"]], required: ["id", "type", "actor_id", "created_at", "payload"]),
            "AuditPage": object(["data": ["type": "array", "items": ref("AuditEntry")], "next_before": nullable(integer)]),
            "Job": object(["id": uuid, "kind": string, "attempts": integer, "last_error": nullable(string), "dead_at": dateTime,
                           "created_at": dateTime, "payload": string]),
        ]
    }
}
