import AtiendeCore
import Vapor

/// Every HTTP operation Atiende serves under `/api/v1` and `/health`, in one table.
enum APIRoutes {
    static let workspace = "/api/v1/workspaces/{workspaceId}"

    static func endpoints(maxInboundBytes: Int) -> [Endpoint] {
        [
            // Operations
            Endpoint(method: .GET, path: "/health/live", operationID: "healthLive", summary: "The process is up",
                     tag: "Operations", security: .none, handler: HealthController.live),
            Endpoint(method: .GET, path: "/health/ready", operationID: "healthReady", summary: "The database answers",
                     tag: "Operations", security: .none, handler: HealthController.ready),
            Endpoint(method: .GET, path: "/metrics", operationID: "metrics", summary: "Prometheus metrics",
                     tag: "Operations", security: .none, handler: HealthController.metrics),
            Endpoint(method: .GET, path: "/api/v1/openapi.json", operationID: "openAPI", summary: "This document",
                     tag: "Operations", security: .none, handler: OpenAPIDocument.serve),

            // API channel
            Endpoint(method: .POST, path: "/api/v1/channels/api/{inboxId}/messages", operationID: "apiChannelInbound",
                     summary: "Post a customer message into an API inbox (HMAC-signed)", tag: "Channels",
                     security: .channelSignature, requestSchema: "InboundMessage", responseSchema: "InboundAccepted",
                     maxBodyBytes: maxInboundBytes, handler: APIChannelController.receive),

            // Me
            Endpoint(method: .GET, path: "/api/v1/me", operationID: "getMe", summary: "The caller and their workspaces",
                     tag: "Users", security: .user, responseSchema: "Me", handler: MeController.show),

            // Inboxes
            Endpoint(method: .GET, path: "\(workspace)/inboxes", operationID: "listInboxes", summary: "List inboxes",
                     tag: "Inboxes", security: .member(.agent), responseSchema: "[Inbox]", handler: InboxesController.list),
            Endpoint(method: .POST, path: "\(workspace)/inboxes", operationID: "createInbox",
                     summary: "Connect a channel; an API inbox's signing secret is returned once", tag: "Inboxes",
                     security: .member(.admin), requestSchema: "InboxCreate", responseSchema: "Inbox", successStatus: 201,
                     handler: InboxesController.create),
            Endpoint(method: .GET, path: "\(workspace)/inboxes/{inboxId}", operationID: "getInbox", summary: "Get an inbox",
                     tag: "Inboxes", security: .member(.agent), responseSchema: "Inbox", handler: InboxesController.show),
            Endpoint(method: .PATCH, path: "\(workspace)/inboxes/{inboxId}", operationID: "updateInbox", summary: "Change an inbox",
                     tag: "Inboxes", security: .member(.admin), requestSchema: "InboxUpdate", responseSchema: "Inbox",
                     handler: InboxesController.update),
            Endpoint(method: .POST, path: "\(workspace)/inboxes/{inboxId}/rotate-secret", operationID: "rotateInboxSecret",
                     summary: "Replace an API inbox's signing secret (returned once)", tag: "Inboxes", security: .member(.admin),
                     responseSchema: "Inbox", handler: InboxesController.rotateSecret),
            Endpoint(method: .POST, path: "\(workspace)/inboxes/{inboxId}/check", operationID: "checkInbox",
                     summary: "Check a messaging inbox's credentials with its provider (Telegram: also points the bot's webhook here)",
                     tag: "Inboxes", security: .member(.admin), responseSchema: "InboxCheck", handler: InboxesController.check),

            // Members and teams
            Endpoint(method: .GET, path: "\(workspace)/users", operationID: "listMembers", summary: "List members",
                     tag: "Users", security: .member(.agent), responseSchema: "[Member]", handler: MembersController.list),
            Endpoint(method: .POST, path: "\(workspace)/users", operationID: "addMember", summary: "Add a member",
                     tag: "Users", security: .member(.admin), requestSchema: "MemberCreate", responseSchema: "Member",
                     successStatus: 201, handler: MembersController.create),
            Endpoint(method: .PATCH, path: "\(workspace)/users/{userId}", operationID: "updateMember", summary: "Change a member's role",
                     tag: "Users", security: .member(.admin), requestSchema: "MemberUpdate", responseSchema: "Member",
                     handler: MembersController.update),
            Endpoint(method: .DELETE, path: "\(workspace)/users/{userId}", operationID: "removeMember", summary: "Remove a member",
                     tag: "Users", security: .member(.admin), successStatus: 204, handler: MembersController.remove),
            Endpoint(method: .GET, path: "\(workspace)/teams", operationID: "listTeams", summary: "List teams",
                     tag: "Teams", security: .member(.agent), responseSchema: "[Team]", handler: TeamsController.list),
            Endpoint(method: .POST, path: "\(workspace)/teams", operationID: "createTeam", summary: "Create a team",
                     tag: "Teams", security: .member(.admin), requestSchema: "TeamBody", responseSchema: "Team",
                     successStatus: 201, handler: TeamsController.create),
            Endpoint(method: .PATCH, path: "\(workspace)/teams/{teamId}", operationID: "updateTeam",
                     summary: "Rename a team or replace its members", tag: "Teams", security: .member(.admin),
                     requestSchema: "TeamBody", responseSchema: "Team", handler: TeamsController.update),
            Endpoint(method: .DELETE, path: "\(workspace)/teams/{teamId}", operationID: "deleteTeam", summary: "Delete a team",
                     tag: "Teams", security: .member(.admin), successStatus: 204, handler: TeamsController.remove),

            // Contacts
            Endpoint(method: .GET, path: "\(workspace)/contacts", operationID: "listContacts",
                     summary: "List or search contacts", tag: "Contacts", security: .member(.agent),
                     query: ["q", "cursor", "limit"], responseSchema: "ContactPage", handler: ContactsController.list),
            Endpoint(method: .GET, path: "\(workspace)/contacts/{contactId}", operationID: "getContact",
                     summary: "A contact with identities, every conversation on every channel and possible duplicates",
                     tag: "Contacts", security: .member(.agent), responseSchema: "ContactDetail", handler: ContactsController.show),
            Endpoint(method: .PATCH, path: "\(workspace)/contacts/{contactId}", operationID: "updateContact",
                     summary: "Change a contact's profile", tag: "Contacts", security: .member(.agent),
                     requestSchema: "ContactUpdate", responseSchema: "Contact", handler: ContactsController.update),
            Endpoint(method: .POST, path: "\(workspace)/contacts/{contactId}/merge", operationID: "mergeContact",
                     summary: "Merge another contact into this one; identities and history move, nothing is lost",
                     tag: "Contacts", security: .member(.agent), requestSchema: "ContactMerge", responseSchema: "Contact",
                     handler: ContactsController.merge),

            // Conversations
            Endpoint(method: .GET, path: "\(workspace)/conversations", operationID: "listConversations",
                     summary: "List conversations with filters and sort", tag: "Conversations", security: .member(.agent),
                     query: ["status", "inbox_id", "assignee_id", "team_id", "label", "channel", "contact_id", "sort", "cursor", "limit"],
                     responseSchema: "ConversationPage", handler: ConversationsController.list),
            Endpoint(method: .GET, path: "\(workspace)/conversations/{number}", operationID: "getConversation",
                     summary: "A conversation by its number", tag: "Conversations", security: .member(.agent),
                     responseSchema: "Conversation", handler: ConversationsController.show),
            Endpoint(method: .PATCH, path: "\(workspace)/conversations/{number}", operationID: "updateConversation",
                     summary: "Change status, assignee, team, priority, labels or contact reason", tag: "Conversations",
                     security: .member(.agent), requestSchema: "ConversationUpdate", responseSchema: "Conversation",
                     handler: ConversationsController.update),
            Endpoint(method: .GET, path: "\(workspace)/conversations/{number}/messages", operationID: "listMessages",
                     summary: "Messages of a conversation, oldest first", tag: "Conversations", security: .member(.agent),
                     query: ["cursor", "limit"], responseSchema: "MessagePage", handler: ConversationsController.messages),
            Endpoint(method: .POST, path: "\(workspace)/conversations/{number}/messages", operationID: "createMessage",
                     summary: "Reply to the customer in their channel, or add a private note", tag: "Conversations",
                     security: .member(.agent), requestSchema: "MessageCreate", responseSchema: "Message", successStatus: 201,
                     maxBodyBytes: maxInboundBytes, handler: ConversationsController.reply),
            Endpoint(method: .GET, path: "\(workspace)/attachments/{attachmentId}", operationID: "downloadAttachment",
                     summary: "Download an attachment", tag: "Conversations", security: .member(.agent),
                     responseSchema: "binary", handler: AttachmentsController.download),

            // Service levels
            Endpoint(method: .GET, path: "\(workspace)/sla-policies", operationID: "listServiceLevelPolicies",
                     summary: "Service-level policies", tag: "Service levels", security: .member(.agent),
                     responseSchema: "[ServiceLevelPolicy]", handler: ServiceLevelsController.list),
            Endpoint(method: .POST, path: "\(workspace)/sla-policies", operationID: "createServiceLevelPolicy",
                     summary: "Create a policy (targets default to our sources' figures)", tag: "Service levels",
                     security: .member(.admin), requestSchema: "ServiceLevelPolicyBody", responseSchema: "ServiceLevelPolicy",
                     successStatus: 201, handler: ServiceLevelsController.create),
            Endpoint(method: .PATCH, path: "\(workspace)/sla-policies/{policyId}", operationID: "updateServiceLevelPolicy",
                     summary: "Change a policy; active conversations get the new targets", tag: "Service levels",
                     security: .member(.admin), requestSchema: "ServiceLevelPolicyBody", responseSchema: "ServiceLevelPolicy",
                     handler: ServiceLevelsController.update),
            Endpoint(method: .DELETE, path: "\(workspace)/sla-policies/{policyId}", operationID: "deleteServiceLevelPolicy",
                     summary: "Delete a policy", tag: "Service levels", security: .member(.admin), successStatus: 204,
                     handler: ServiceLevelsController.remove),
            Endpoint(method: .GET, path: "\(workspace)/inboxes/{inboxId}/service-levels", operationID: "getInboxServiceLevels",
                     summary: "An inbox's business hours, policy and automatic answers", tag: "Service levels",
                     security: .member(.agent), responseSchema: "InboxServiceLevels", handler: ServiceLevelsController.showInbox),
            Endpoint(method: .PUT, path: "\(workspace)/inboxes/{inboxId}/service-levels", operationID: "putInboxServiceLevels",
                     summary: "Set an inbox's business hours, policy and automatic answers", tag: "Service levels",
                     security: .member(.admin), requestSchema: "InboxServiceLevels", responseSchema: "InboxServiceLevels",
                     handler: ServiceLevelsController.putInbox),
            Endpoint(method: .GET, path: "\(workspace)/reports/service-levels", operationID: "serviceLevelCompliance",
                     summary: "Share of first responses, next responses and resolutions within target over a period",
                     tag: "Service levels", security: .member(.supervisor), query: ["from", "to", "group_by"],
                     responseSchema: "ServiceLevelReport", handler: ServiceLevelsController.compliance),

            // Events and jobs
            Endpoint(method: .GET, path: "\(workspace)/events", operationID: "events",
                     summary: "Events after `since`: a WebSocket upgrade streams them live, a plain GET returns a page",
                     tag: "Events", security: .member(.agent), query: ["since", "limit"], responseSchema: "EventPage",
                     handler: EventsController.events),
            Endpoint(method: .GET, path: "\(workspace)/jobs/failed", operationID: "listFailedJobs",
                     summary: "Background jobs that gave up (dead letters)", tag: "Jobs", security: .member(.supervisor),
                     responseSchema: "[Job]", handler: JobsController.failed),
            Endpoint(method: .POST, path: "\(workspace)/jobs/{jobId}/retry", operationID: "retryJob",
                     summary: "Try a dead job again", tag: "Jobs", security: .member(.admin), successStatus: 202,
                     handler: JobsController.retry),
        ]
    }
}
