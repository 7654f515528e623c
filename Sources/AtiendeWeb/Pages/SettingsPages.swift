import AtiendeChannels
import AtiendeCore
import Fluent
import Foundation
import Plot
import Vapor

/// Admin pages: inboxes, people (invitations, roles, removal), teams and the workspace itself.
/// Changes go through the same API v1 the integrations use (cookie + CSRF), except invitations and the
/// workspace form, which are plain form posts.
enum SettingsPages {
    static func apiBase(_ desk: Desk) -> String { "/api/v1/workspaces/\(desk.workspaceID.uuidString.lowercased())" }

    static func show(_ req: Request) async throws -> HTMLPage {
        let desk = try await req.desk(minimum: .admin)
        guard let raw = req.url.path.split(separator: "/").last, let section = SiteURL.Settings(rawValue: String(raw)) else {
            throw AtiendeError.notFound("page")
        }
        let t = desk.t
        let content: Node<HTML.BodyContext>
        switch section {
        case .inboxes:
            content = inboxes(desk, channels: req.atiende.channels, publicURL: req.publicBase, site: { req.channelSite($0, slug: desk.slug) }, guessed: req.publicBaseIsGuessed)
        case .users: content = try await users(req, desk, link: nil)
        case .teams:
            let teamMembers = try await desk.scope.query(TeamMember.self, on: req.db).all()
            content = teams(desk, teamMembers: teamMembers)
        case .workspace: content = workspace(desk, saved: req.query[String.self, at: "saved"] != nil)
        case .service:
            let policies = try await desk.scope.query(ServiceLevelPolicy.self, on: req.db).sort(\.$createdAt).all()
            content = ServiceSettingsPage.view(desk, policies: policies, saved: req.query[String.self, at: "saved"] != nil)
        case .rules:
            let rules = try await desk.scope.query(AutomationRule.self, on: req.db).sort(\.$position).sort(\.$createdAt).all()
            let editing = req.query[String.self, at: "edit"].flatMap(UUID.init(uuidString:)).flatMap { id in rules.first { $0.id == id } }
            content = RulesPage.view(desk, rules, editing: editing,
                                     canned: try await req.atiende.canned.usable(workspace: desk.workspaceID, user: desk.userID, on: req.db))
        }
        return HTMLPage(html: Layout.desk(desk, title: t("settings.\(section.rawValue)"), page: "settings", .div(.class("settings"), content)))
    }

    static func formError() -> Node<HTML.FormContext> { .p(.class("form-error"), .role("alert")) }

    static func inboxes(_ desk: Desk, channels: ChannelRegistry, publicURL: String, site: (Inbox) -> ChannelSite, guessed: Bool = false) -> Node<HTML.BodyContext> {
        let t = desk.t
        return .group(
            .h1(.text(t("settings.inboxes"))),
            // The addresses below were built from the one this browser used; say when that may not be what others reach.
            .if(guessed, .p(.class("notice"), .id("public-url-hint"), .text(t("inbox.public_url_guessed", publicURL)))),
            .table(.class("grid"),
                .thead(.tr(.th(.text(t("inbox.name"))), .th(.text(t("inbox.channel"))), .th(.text(t("inbox.inbound_url"))), .th(.text(t("inbox.state"))), .th())),
                .tbody(.forEach(desk.inboxes) { box in
                    let id = box.id?.uuidString.lowercased() ?? ""
                    let api = apiBase(desk) + "/inboxes/" + id
                    let descriptor = channels[box.channel]
                    return .tr(
                        .td(.text(box.name)),
                        .td(desk.badge(box.channel), .text(" " + t("channel.\(box.channel.rawValue)"))),
                        .td(.unwrap(descriptor) { addressCell($0, box, site: site(box), api: api, t: t) }),
                        .td(.text(t(box.isActive ? "inbox.active" : "inbox.inactive"))),
                        .td(.if(descriptor?.rotatableSecret != nil,
                                .form(.class("inline"), .data("api", api + "/rotate-secret"), .data("method", "POST"), .data("then", "secret"),
                                      .data("confirm", t("inbox.rotate_confirm")),
                                      .button(.type(.submit), .text(t("inbox.rotate"))))),
                            .form(.class("inline"), .data("api", api), .data("method", "PATCH"), .data("then", "reload"),
                                  .field(.type(.hidden), .name("is_active"), .value(box.isActive ? "false" : "true"), .data("type", "bool-value")),
                                  .button(.type(.submit), .text(t(box.isActive ? "inbox.deactivate" : "inbox.activate")))),
                            .unwrap(descriptor) { editInbox($0, box, api: api, t: t) },
                            assignment(desk, box, api: api),
                            .if(descriptor?.sender != nil, survey(desk, box, api: api, linksMissing: guessed && box.channel == .email)),
                            retention(desk, box, api: api)))
                })),
            .h2(.text(t("inbox.create"))),
            .form(.class("stack"), .data("api", apiBase(desk) + "/inboxes"), .data("method", "POST"), .data("then", "secret"),
                  .label(.span(.text(t("inbox.name"))), .field(.type(.text), .name("name"), .required(true))),
                  .label(.span(.text(t("inbox.channel"))),
                         .dropdown(.name("channel"), .data("channel-picker", "1"),
                                   .forEach(channels.all) { .option(.value($0.kind.rawValue), .text(t("channel.\($0.kind.rawValue)"))) })),
                  // Each channel's own fields, shown when it is picked.
                  .forEach(channels.all.filter { $0.fields.contains(where: \.inForm) }) { descriptor in
                      .element(named: "fieldset", nodes: [.attribute(named: "data-channels", value: descriptor.kind.rawValue), .class("stack")]
                                + descriptor.fields.filter(\.inForm).map { fieldInput($0, t: t) })
                  },
                  .button(.type(.submit), .class("primary"), .text(t("inbox.create"))),
                  formError()),
            .div(.id("secret-box"), .class("notice"), .attribute(named: "hidden", value: "hidden"), .role("status"),
                 .p(.text(t("inbox.secret_once"))), .code(.id("secret-value"), .class("copy")),
                 .p(.button(.type(.button), .class("primary"), .id("secret-done"), .text(t("inbox.secret_done"))))),
            .forEach(desk.inboxes.filter { $0.channel == .webchat }) { widgetSettings(desk, $0) })
    }

    /// An inbox's name and its channel's fields, to change; credentials are never shown, and left empty they stay. An
    /// inbox that never had a conversation can be deleted.
    static func editInbox(_ descriptor: any ChannelDescriptor, _ box: Inbox, api: String, t: Localizer) -> Node<HTML.BodyContext> {
        .element(named: "details", nodes: [.class("edit-inbox"),
            .element(named: "summary", nodes: [.text(t("inbox.edit"))]),
            .form(.class("stack"), .data("api", api), .data("method", "PATCH"), .data("then", "reload"),
                  .label(.span(.text(t("inbox.name"))), .field(.type(.text), .name("name"), .value(box.name), .required(true))),
                  .forEach(descriptor.fields.filter(\.inForm)) { field in
                      let current: String? = switch field.place {
                      case .inbox: field.key == "webhook_url" ? box.settings.webhookURL : nil
                      case .setting: box.settings.values[field.key]
                      case .secret: nil
                      }
                      return fieldInput(field, t: t, value: current, editing: true)
                  },
                  .button(.type(.submit), .class("primary"), .text(t("common.save"))),
                  formError()),
            .form(.class("inline"), .data("api", api), .data("method", "DELETE"), .data("then", "reload"),
                  .data("confirm", t("inbox.delete_confirm", box.name)),
                  .button(.type(.submit), .class("danger"), .text(t("inbox.delete"))), formError()),
        ])
    }

    /// How the inbox hands out its conversations: who (a policy, a team, a language) and the times that move them on.
    static func assignment(_ desk: Desk, _ box: Inbox, api: String) -> Node<HTML.BodyContext> {
        let t = desk.t
        let policy = box.assignment
        let minutes = { (name: String, label: String, value: Int?) -> Node<HTML.FormContext> in
            .label(.span(.text(label)), .field(.type(.number), .name(name), .data("type", "number-omit-empty"), .attribute(named: "min", value: "1"),
                                              .attribute(named: "max", value: "43200"), .value(value.map(String.init) ?? "")))
        }
        return .element(named: "details", nodes: [.class("edit-assignment"),
            .element(named: "summary", nodes: [.text(t("assignment.title") + ": " + t("assignment.mode.\(policy.mode.rawValue)"))]),
            .form(.class("stack"), .data("api", api + "/assignment"), .data("method", "PUT"), .data("then", "reload"),
                  .label(.span(.text(t("assignment.mode"))),
                         .dropdown(.name("mode"), .forEach(AssignmentPolicy.Mode.allCases) { mode in
                             .option(.value(mode.rawValue), .text(t("assignment.mode.\(mode.rawValue)")), .selected(mode == policy.mode))
                         })),
                  .label(.span(.text(t("assignment.team"))),
                         .dropdown(.name("team_id"), .data("type", "omit-empty"),
                                   .option(.value(""), .text(t("assignment.any_team"))),
                                   .forEach(desk.teams) { team in
                                       .option(.value(team.id?.uuidString.lowercased() ?? ""), .text(team.name), .selected(team.id == policy.teamID))
                                   })),
                  .label(.field(.type(.checkbox), .name("match_language"), .data("type", "bool"),
                                .if(policy.matchLanguage, .attribute(named: "checked", value: "checked"))),
                         .text(" " + t("assignment.match_language"))),
                  minutes("no_reply_minutes", t("assignment.no_reply"), policy.noReplyMinutes),
                  .if(box.channel == .webchat, minutes("chat_handoff_minutes", t("assignment.handoff"), policy.chatHandoffMinutes)),
                  .button(.type(.submit), .class("primary"), .text(t("common.save"))),
                  formError())])
    }

    /// What the inbox asks its customers after helping them (CSAT or NPS), when, how often, and who wins detractors back.
    static func survey(_ desk: Desk, _ box: Inbox, api: String, linksMissing: Bool = false) -> Node<HTML.BodyContext> {
        let t = desk.t
        let policy = box.surveyPolicy
        let number = { (name: String, label: String, value: Int, max: Int) -> Node<HTML.FormContext> in
            .label(.span(.text(label)), .field(.type(.number), .name(name), .data("type", "number-omit-empty"), .attribute(named: "min", value: "0"),
                                              .attribute(named: "max", value: String(max)), .attribute(named: "step", value: "1"),
                                              .required(true), .value(String(value))))
        }
        let kinds: Node<HTML.LabelContext> = .dropdown(.name("kind"), .data("type", "omit-empty"),
            .option(.value(""), .text(t("survey.kind.none")), .selected(policy.kind == nil)),
            .forEach(Survey.Kind.allCases) { kind in .option(.value(kind.rawValue), .text(t("survey.kind.\(kind.rawValue)")), .selected(kind == policy.kind)) })
        let triggers: Node<HTML.LabelContext> = .dropdown(.name("trigger"), .forEach(SurveyPolicy.Trigger.allCases) { trigger in
            .option(.value(trigger.rawValue), .text(t("survey.trigger.\(trigger.rawValue)")), .selected(trigger == policy.trigger))
        })
        let people: Node<HTML.LabelContext> = .dropdown(.name("detractor_user_id"), .data("type", "omit-empty"),
            .option(.value(""), .text(t("survey.detractor.agent"))),
            .forEach(desk.members) { member in
                .option(.value(member.user.id?.uuidString.lowercased() ?? ""), .text(member.user.name), .selected(member.user.id == policy.detractorUserID))
            })
        let summary = policy.kind.map { t("survey.kind.\($0.rawValue)") } ?? t("survey.kind.none")
        return .element(named: "details", nodes: [.class("edit-survey"),
            .element(named: "summary", nodes: [.text(t("survey.title") + ": " + summary)]),
            .form(.class("stack"), .data("api", api + "/survey"), .data("method", "PUT"), .data("then", "reload"),
                  .label(.span(.text(t("survey.kind"))), kinds),
                  .label(.span(.text(t("survey.trigger"))), triggers),
                  number("delay_minutes", t("survey.delay"), policy.delayMinutes, 10_080),
                  number("once_per_days", t("survey.once_per_days"), policy.oncePerDays, 365),
                  .label(.span(.text(t("survey.detractor"))), people),
                  .p(.class("hint"), .text(t("survey.hint"))),
                  .if(linksMissing, .p(.class("notice"), .text(t("survey.no_links")))),
                  .button(.type(.submit), .class("primary"), .text(t("common.save"))),
                  formError())])
    }

    /// One declared field of a channel as a form input. Creating, optional ones are left out when empty; editing, an empty
    /// setting is cleared and an empty credential kept (it is never shown back).
    static func fieldInput(_ field: ChannelField, t: Localizer, value: String? = nil, editing: Bool = false) -> Node<HTML.FormContext> {
        let control: Node<HTML.LabelContext>
        switch field.input {
        case .choice(let options):
            control = .dropdown(.name(field.name), .forEach(options) { .option(.value($0.value), .text(t($0.label)), .selected($0.value == value)) })
        case .password where editing:
            control = .field(.type(.password), .name(field.name), .attribute(named: "autocomplete", value: "new-password"),
                             .placeholder(t("inbox.secret_keep")), .data("type", "omit-empty"))
        default:
            let type: Part.FieldType = switch field.input {
            case .email: .email
            case .url: .url
            case .password: .password
            case .port: .number
            default: .text
            }
            control = .field(.type(type), .name(field.name), .required(field.required), .attribute(named: "autocomplete", value: "off"),
                             .if(value != nil, .value(value ?? "")), .if(!field.required && !editing, .data("type", "omit-empty")))
        }
        return .label(.span(.text(t(field.label))), control)
    }

    /// What the admin copies from an inbox into the provider or the website, and its check with the provider.
    static func addressCell(_ descriptor: any ChannelDescriptor, _ box: Inbox, site: ChannelSite, api: String, t: Localizer) -> Node<HTML.BodyContext> {
        let addresses = descriptor.addresses(box, site: site)
        return .group(
            .forEach(addresses) { address in
                let name = address.label.split(separator: ".").last.map { $0.replacingOccurrences(of: "_", with: "-") } ?? ""
                if address.kind == .link {
                    return .p(.a(.href(address.value), .attribute(named: "target", value: "_blank"), .text(t(address.label))))
                }
                return .p(.class("address"), .span(.class("hint"), .text(t(address.label) + " ")), .code(.class("copy \(name)"), .text(address.value)))
            },
            .if(addresses.isEmpty && !descriptor.checkable, .text("—")),
            .if(descriptor.checkable,
                .form(.class("inline"), .data("api", api + "/check"), .data("method", "POST"), .data("then", "detail"),
                      .button(.type(.submit), .text(t("inbox.check"))), .span(.class("form-result"), .role("status")), formError())))
    }

    /// A live chat inbox's look and rules (colour, greetings, pre-chat fields, allowed websites).
    static func widgetSettings(_ desk: Desk, _ box: Inbox) -> Node<HTML.BodyContext> {
        let t = desk.t
        let id = box.id?.uuidString.lowercased() ?? ""
        let values = box.settings.values
        let settings = WebchatSettings(values)
        func check(_ label: String, _ key: String, _ on: Bool) -> Node<HTML.FormContext> {
            .label(.class("check"), .field(.type(.checkbox), .name("settings." + key), .value("true"), .if(on, .attribute(named: "checked", value: "checked"))),
                   .span(.text(label)))
        }
        func text(_ label: String, _ key: String, _ value: String, _ extra: Part = .group([])) -> Node<HTML.FormContext> {
            .label(.span(.text(label)), .field(.type(.text), .name("settings." + key), .value(value), extra))
        }
        let fields: [Node<HTML.FormContext>] = [
            text(t("inbox.color"), "color", settings.color, .attribute(named: "pattern", value: "#[0-9a-fA-F]{6}")),
            text(t("inbox.greeting_es"), "greeting_es", values["greeting_es"] ?? ""),
            text(t("inbox.greeting_en"), "greeting_en", values["greeting_en"] ?? ""),
            check(t("inbox.require_name"), "require_name", settings.requireName),
            check(t("inbox.require_email"), "require_email", settings.requireEmail),
            text(t("inbox.allowed_origins"), "allowed_origins", settings.allowedOrigins.joined(separator: ", ")),
            .button(.type(.submit), .class("primary"), .text(t("common.save"))),
            formError(),
        ]
        return .section(.class("widget-settings"), .id("widget-\(id)"),
            .h2(.text(t("inbox.widget") + ": " + box.name)),
            .form(.class("stack"), .data("api", apiBase(desk) + "/inboxes/" + id), .data("method", "PATCH"), .data("then", "reload"),
                  .group(fields)))
    }

    static func users(_ req: Request, _ desk: Desk, link: String?, error: String? = nil, email: String = "") async throws -> Node<HTML.BodyContext> {
        let invitations = try await desk.scope.query(Invitation.self, on: req.db).filter(\.$acceptedAt == nil)
            .filter(\.$expiresAt > req.atiende.store.clock.now()).sort(\.$createdAt, .descending).all()
        return users(desk, invitations: invitations, link: link, error: error, email: email)
    }

    static func users(_ desk: Desk, invitations: [Invitation], link: String?, error: String? = nil, email: String = "") -> Node<HTML.BodyContext> {
        let t = desk.t
        return .group(
            .h1(.text(t("settings.users"))),
            .table(.class("grid"),
                .thead(.tr(.th(.text(t("contact.name"))), .th(.text(t("contact.email"))), .th(.text(t("users.role"))), .th())),
                .tbody(.forEach(desk.members) { member in
                    let api = apiBase(desk) + "/users/" + (member.user.id?.uuidString.lowercased() ?? "")
                    return .tr(
                        .td(.text(member.user.name)), .td(.text(member.user.email)),
                        .td(.form(.class("inline"), .data("api", api), .data("method", "PATCH"), .data("autosubmit", "1"),
                                  // Only the label's text is for screen readers: the selector itself must show.
                                  .label(.span(.class("sr"), .text(t("users.role"))),
                                         .dropdown(.name("role"), .forEach(Role.allCases) { role in
                                             .option(.value(role.rawValue), .text(t("role.\(role.rawValue)")), .selected(role == member.role))
                                         })),
                                  formError())),
                        .td(.if(member.user.id != desk.userID,
                                .form(.class("inline"), .data("api", api), .data("method", "DELETE"), .data("then", "reload"),
                                      .data("confirm", t("users.remove_confirm", member.user.name)),
                                      .button(.type(.submit), .text(t("users.remove"))), formError()))))
                })),
            .h2(.text(t("users.invite"))),
            .unwrap(link) { link in .div(.class("notice"), .role("status"), .p(.text(t("users.invite_link"))), .code(.class("copy"), .text(link))) },
            .unwrap(error) { .p(.class("form-error"), .role("alert"), .text($0)) },
            .form(.class("stack"), .method(.post), .action(SiteURL.settings(desk.slug, .users).path),
                  .csrf(desk.csrf),
                  .label(.span(.text(t("contact.email"))), .field(.type(.email), .name("email"), .value(email), .required(true))),
                  .label(.span(.text(t("users.role"))), .dropdown(.name("role"), .forEach(Role.allCases) { role in
                      .option(.value(role.rawValue), .text(t("role.\(role.rawValue)")), .selected(role == .agent))
                  })),
                  .button(.type(.submit), .class("primary"), .text(t("users.send_invite")))),
            .if(!invitations.isEmpty, .group(
                .h2(.text(t("users.pending"))),
                .ul(.forEach(invitations) { invitation in
                    .li(.text("\(invitation.email) · \(t("role.\(invitation.role.rawValue)")) · \(t("users.expires", desk.format.dateTime(invitation.expiresAt)))"))
                }))))
    }

    struct InviteForm: Content { var email: String; var role: Role }

    /// The link is shown on the page that answers the form, never put in a URL (where logs and history would keep it).
    static func invite(_ req: Request) async throws -> HTMLPage {
        let desk = try await req.desk(minimum: .admin)
        let form = try req.content.decode(InviteForm.self)
        let content: Node<HTML.BodyContext>
        var status = HTTPStatus.ok
        do {
            let (_, token) = try await req.atiende.accounts.invite(email: form.email, role: form.role, workspace: desk.workspaceID, by: desk.userID)
            content = try await users(req, desk, link: MembersController.invitationURL(req, token: token))
        } catch let error as AtiendeError {
            // Said beside the form (already a member, not an email), not on an error page.
            status = HTTPStatus(statusCode: error.status)
            content = try await users(req, desk, link: nil, error: ErrorPages.message(error, t: desk.t), email: form.email)
        }
        return HTMLPage(html: Layout.desk(desk, title: desk.t("settings.users"), page: "settings", .div(.class("settings"), content)), status: status)
    }

    static func teams(_ desk: Desk, teamMembers: [TeamMember]) -> Node<HTML.BodyContext> {
        let t = desk.t
        return .group(
            .h1(.text(t("settings.teams"))),
            .forEach(desk.teams) { teamForm(desk, $0, teamMembers: teamMembers) },
            .h2(.text(t("teams.create"))),
            .form(.class("stack"), .data("api", apiBase(desk) + "/teams"), .data("method", "POST"), .data("then", "reload"),
                  .label(.span(.text(t("inbox.name"))), .field(.type(.text), .name("name"), .required(true))),
                  .button(.type(.submit), .class("primary"), .text(t("teams.create"))), formError()))
    }

    static func teamForm(_ desk: Desk, _ team: Team, teamMembers: [TeamMember]) -> Node<HTML.BodyContext> {
        let t = desk.t
        let members = Set(teamMembers.filter { $0.$team.id == team.id }.map { $0.$user.id })
        let api = apiBase(desk) + "/teams/" + (team.id?.uuidString.lowercased() ?? "")
        let boxes: [Node<HTML.FormContext>] = desk.members.map { member in
            let id = member.user.id ?? UUID()
            return .label(.field(.type(.checkbox), .name("member_ids"), .data("type", "checklist"), .value(id.uuidString.lowercased()),
                                 .if(members.contains(id), .attribute(named: "checked", value: "checked"))),
                          .text(" " + member.user.name))
        }
        return .form(.class("stack team"), .data("api", api), .data("method", "PATCH"), .data("then", "reload"),
            .label(.span(.text(t("inbox.name"))), .field(.type(.text), .name("name"), .value(team.name), .required(true))),
            .p(.class("legend"), .text(t("teams.members"))), .div(.class("checks"), .group(boxes)),
            .button(.type(.submit), .text(t("common.save"))), formError())
    }

    static func workspace(_ desk: Desk, saved: Bool) -> Node<HTML.BodyContext> {
        let t = desk.t
        let ws = desk.workspace
        return .group(
            .h1(.text(t("settings.workspace"))),
            .if(saved, .p(.class("notice"), .role("status"), .text(t("common.saved")))),
            .form(.class("stack"), .method(.post), .action(SiteURL.settings(desk.slug, .workspace).path),
                  .csrf(desk.csrf),
                  .label(.span(.text(t("setup.workspace"))), .field(.type(.text), .name("name"), .value(ws.name), .required(true))),
                  .label(.span(.text(t("account.language"))), AuthPages.languageSelect(ws.defaultLanguage)),
                  .label(.span(.text(t("account.time_zone"))), AuthPages.timeZoneInput(ws.timeZone)),
                  .label(.span(.text(t("workspace.country_code"))),
                         .field(.type(.text), .name("country_code"), .value(ws.defaultCountryCode ?? ""), .attribute(named: "pattern", value: "[0-9]{0,4}"))),
                  .label(.field(.type(.checkbox), .name("require_two_factor"), .value("1"), .id("require-two-factor"),
                                .if(ws.requireTwoFactor == true, .attribute(named: "checked", value: "checked"))),
                         .text(" " + t("workspace.require_two_factor"))),
                  .p(.class("hint"), .text(t("workspace.require_two_factor_hint"))),
                  .field(.type(.hidden), .name("two_factor_choice"), .value("1")),
                  .button(.type(.submit), .class("primary"), .text(t("common.save")))),
            compensationLimits(desk))
    }

    /// Each role's compensation limits, one row per role and unit; empty rows to add more (a row without a unit is left out).
    static func compensationLimits(_ desk: Desk) -> Node<HTML.BodyContext> {
        let t = desk.t
        let limits = desk.workspace.compensationPolicy.limits
        func row(_ limit: CompensationPolicy.Limit?) -> Node<HTML.FormContext> {
            let amount = { (cents: Int64?) in cents.map { SVGChart.number(Double($0) / 100) } ?? "" }
            return .div(.class("limit-row"), .data("row", "1"),
                .label(.span(.text(t("compensation.unit"))),
                       .field(.type(.text), .name("unit"), .value(limit?.unit ?? ""), .attribute(named: "maxlength", value: "5"))),
                .label(.span(.text(t("compensation.role"))),
                       .dropdown(.name("role"), .forEach(Role.allCases) { .option(.value($0.rawValue), .text(t("role.\($0.rawValue)")), .selected($0 == limit?.role)) })),
                .label(.span(.text(t("compensation.per_grant"))),
                       .field(.type(.number), .name("per_grant"), .value(amount(limit?.perGrantCents)), .attribute(named: "min", value: "0"),
                              .attribute(named: "step", value: "0.01"))),
                .label(.span(.text(t("compensation.per_month"))),
                       .field(.type(.number), .name("per_month"), .value(amount(limit?.perMonthCents)), .attribute(named: "min", value: "0"),
                              .attribute(named: "step", value: "0.01"))))
        }
        let rows: [CompensationPolicy.Limit?] = limits.map { $0 } + [nil, nil]
        return .section(.class("compensation-limits"), .id("compensation-limits"),
            .h2(.text(t("compensation.limits"))),
            .p(.class("hint"), .text(t("compensation.limits_hint"))),
            .form(.class("stack"), .data("api", apiBase(desk) + "/compensation-policy"), .data("method", "PUT"), .data("then", "reload"),
                  .element(named: "fieldset", nodes: [.class("rows"), .attribute(named: "data-rows", value: "limits"),
                                                      .forEach(rows) { row($0) }]),
                  .button(.type(.submit), .class("primary"), .text(t("common.save"))),
                  formError()))
    }

    struct WorkspaceForm: Content {
        var name: String; var language: String; var time_zone: String; var country_code: String?
        var require_two_factor: String?; var two_factor_choice: String?
    }

    static func saveWorkspace(_ req: Request) async throws -> Response {
        let desk = try await req.desk(minimum: .admin)
        let form = try req.content.decode(WorkspaceForm.self)
        try await WorkspaceService.update(desk.workspace, name: form.name, language: form.language, timeZone: form.time_zone,
                                          countryCode: form.country_code,
                                          requireTwoFactor: form.two_factor_choice == nil ? nil : form.require_two_factor != nil,
                                          actor: desk.userID, store: req.atiende.store)
        return req.redirect(to: SiteURL.settings(desk.slug, .workspace).path(query: [("saved", "1")]), redirectType: .normal)
    }
}
