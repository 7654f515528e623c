import AtiendeChannels
import AtiendeCore
import Crypto
import Fluent
import Foundation
import Plot
import Vapor

/// `/help/{workspace}/contact`: the public contact form (web form channel). It creates a conversation in the
/// workspace's web form inbox and answers with the request number. Spam control without third-party captchas:
/// a honeypot field, a signed form token that must be at least 3 seconds old (and at most a day), and limits per
/// address and per email. The token's nonce is the message id, so a double submit stores one message.
enum ContactFormPage {
    static let minimumSeconds: TimeInterval = 3
    static let maximumAge: TimeInterval = 86_400
    static let perAddress = 5
    static let perEmail = 3

    static func inbox(_ req: Request) async throws -> (Workspace, Inbox) {
        guard let slug = req.parameters.get("workspace"), slug.count < 200,
              let workspace = try await Workspace.query(on: req.db).filter(\.$slug == slug).first(),
              let inbox = try await Inbox.query(on: req.db).filter(\.$workspace.$id == workspace.requireID())
                .filter(\.$channel == .webform).filter(\.$isActive == true).sort(\.$createdAt).first()
        else { throw AtiendeError.notFound("contact form") }
        return (workspace, inbox)
    }

    static func signature(_ payload: String, req: Request) -> String {
        let key = SymmetricKey(data: Data((req.atiende.config.secretKey + ":contact-form").utf8))
        return HMAC<SHA256>.authenticationCode(for: Data(payload.utf8), using: key).map { String(format: "%02x", $0) }.joined()
    }

    static func token(_ req: Request) -> String {
        let payload = "\(Int(req.atiende.store.clock.now().timeIntervalSince1970)).\(UUID().uuidString.lowercased())"
        return payload + "." + signature(payload, req: req)
    }

    static func page(_ req: Request, workspace: Workspace, t: Localizer, error: String? = nil, values: [String: String] = [:],
                     status: HTTPStatus = .ok) async throws -> Response {
        let csrf = try await req.csrfToken()
        let content: Node<HTML.BodyContext> = .div(.class("card"),
            .h1(.text(t("form.title", workspace.name))),
            .p(.text(t("form.intro"))),
            .unwrap(error) { .p(.class("form-error"), .role("alert"), .text($0)) },
            // The answer to the form speaks the language the form was read in.
            .form(.class("stack"), .method(.post), .action(SiteURL.helpContact(workspace.slug).path(query: [("lang", t.language.rawValue)])),
                  .attribute(named: "enctype", value: "multipart/form-data"),
                  .csrf(csrf),
                  .field(.type(.hidden), .name("form_token"), .value(token(req))),
                  .label(.span(.text(t("contact.name"))), .field(.type(.text), .name("name"), .value(values["name"] ?? ""), .attribute(named: "maxlength", value: "120"))),
                  .label(.span(.text(t("contact.email"))), .field(.type(.email), .name("email"), .value(values["email"] ?? ""), .required(true))),
                  .label(.span(.text(t("form.subject"))), .field(.type(.text), .name("subject"), .value(values["subject"] ?? ""), .attribute(named: "maxlength", value: "200"))),
                  .label(.span(.text(t("form.message"))), .textBox(.name("message"), .required(true), .attribute(named: "rows", value: "6"), .text(values["message"] ?? ""))),
                  .label(.span(.text(t("form.attachment"))), .field(.type(.file), .name("attachment"))),
                  // People never see this field; bots fill it in.
                  .div(.class("trap"), .aria("hidden", "true"),
                       .label(.text("Website"), .field(.type(.text), .name("website"), .attribute(named: "tabindex", value: "-1"),
                                                       .attribute(named: "autocomplete", value: "off")))),
                  .button(.type(.submit), .class("primary"), .text(t("form.send")))),
            AuthPages.languageLinks(t, path: SiteURL.helpContact(workspace.slug).path))
        return try await HTMLPage(html: Layout.plain(t("form.title", workspace.name), t: t, csrf: csrf, content), status: status).encodeResponse(for: req)
    }

    static func show(_ req: Request) async throws -> Response {
        let (workspace, _) = try await inbox(req)
        return try await page(req, workspace: workspace, t: Localizer.negotiate(req))
    }

    struct Form: Content {
        var name: String?
        var email: String?
        var subject: String?
        var message: String?
        var website: String?
        var form_token: String?
        var attachment: File?
    }

    static func submit(_ req: Request) async throws -> Response {
        let (workspace, inbox) = try await inbox(req)
        let t = Localizer.negotiate(req)
        let form = try req.content.decode(Form.self)
        let values = ["name": form.name ?? "", "email": form.email ?? "", "subject": form.subject ?? "", "message": form.message ?? ""]
        func refuse(_ text: String, _ status: HTTPStatus) async throws -> Response {
            try await page(req, workspace: workspace, t: t, error: text, values: values, status: status)
        }
        let now = req.atiende.store.clock.now()
        // The signed token: when the form was shown, and a nonce that identifies this submission.
        let parts = (form.form_token ?? "").split(separator: ".").map(String.init)
        guard parts.count == 3, SecretToken.constantTimeEquals(parts[2], signature("\(parts[0]).\(parts[1])", req: req)),
              let issued = Double(parts[0]) else { return try await refuse(t("form.stale"), .badRequest) }
        let age = now.timeIntervalSince1970 - issued
        guard age <= maximumAge else { return try await refuse(t("form.stale"), .badRequest) }
        guard age >= minimumSeconds else { return try await refuse(t("form.too_fast"), .badRequest) }
        guard (form.website ?? "").isEmpty else { return try await refuse(t("form.automated"), .badRequest) }
        guard let email = IdentityNormalizer.email(form.email ?? "") else { return try await refuse(t("error.invalid_email"), .badRequest) }
        let message = (form.message ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        guard !message.isEmpty else { return try await refuse(t("form.empty"), .badRequest) }
        guard message.count <= 10_000, (form.subject ?? "").count <= 200, (form.name ?? "").count <= 120 else {
            return try await refuse(t("form.too_long"), .payloadTooLarge)
        }
        let address = "contact:" + (req.remoteAddress?.ipAddress ?? "unknown"), mailbox = "contact:" + email
        let limiter = req.atiende.contactForms
        let taken: RateLimiter.Taken
        switch try await limiter.take([(address, perAddress), (mailbox, perEmail)], now: now) {
        case .failure(let refusal): return try await refuse(t("form.rate_limited", max(1, Int((refusal.wait / 60).rounded(.up)))), .tooManyRequests)
        case .success(let counted): taken = counted
        }
        var files: [InboundMessage.File] = []
        if let file = form.attachment, file.data.readableBytes > 0 {
            files.append(.init(filename: file.filename, contentType: file.contentType?.serialize() ?? "application/octet-stream",
                               data: Data(file.data.readableBytesView)))
        }
        let subject = (form.subject ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        let inbound = InboundMessage(
            inboxID: try inbox.requireID(), providerMessageID: "form-" + parts[1],
            sender: .init(name: form.name.flatMap { $0.trimmingCharacters(in: .whitespaces).isEmpty ? nil : $0 }, identities: [(.email, email)]),
            // Each form is its own request: its nonce is the thread, so it never joins an earlier conversation.
            text: message, files: files, threadHint: "form-" + parts[1], subject: subject.isEmpty ? nil : subject)
        let result: IngestResult
        do {
            result = try await req.atiende.ingest.receive(inbound, in: inbox, countryCode: workspace.defaultCountryCode)
        } catch let error as AtiendeError {
            await limiter.giveBack(taken)  // a refused form does not count
            return try await page(req, workspace: workspace, t: t, error: ErrorPages.message(error, t: t), values: values,
                                  status: HTTPStatus(statusCode: error.status))
        }
        if result.duplicate { await limiter.giveBack(taken) }
        let content: Node<HTML.BodyContext> = .div(.class("card"),
            .h1(.text(t("form.thanks"))),
            .p(.id("request-number"), .text(t("form.number", result.conversationNumber))),
            .p(.a(.href(SiteURL.helpContact(workspace.slug).path), .text(t("form.another")))))
        return try await HTMLPage(html: Layout.plain(t("form.thanks"), t: t, csrf: nil, content)).encodeResponse(for: req)
    }
}

/// The contact form channel: the workspace's public form to link from its website. A reply reaches the customer
/// through the email they left, not through the form.
struct WebformDescriptor: ChannelDescriptor {
    var kind: ChannelKind { .webform }
    var icon: ChannelIcon { ChannelIcon(path: "M6 2h9l5 5v15H6zM14 2v6h6M9 13h8M9 17h8", color: "#b45309") }
    var fields: [ChannelField] { [] }
    var sender: (any ChannelSender)? { nil }

    func addresses(_ inbox: Inbox, site: ChannelSite) -> [ChannelAddress] {
        let form = SiteURL.helpContact(site.workspaceSlug).path
        return [ChannelAddress(.url, label: "inbox.form_url", site.publicURL + form), ChannelAddress(.link, label: "inbox.open_form", form)]
    }
}
