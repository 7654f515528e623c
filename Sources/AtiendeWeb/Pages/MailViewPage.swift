import AtiendeCore
import AtiendeMail
import Foundation
import Plot
import Vapor

/// `/app/{workspace}/mail/{attachmentId}`: an email as it was sent, from its kept original — HTML only after the
/// sanitizer, inline `cid:` images embedded, remote images held back until the agent asks (`?images=1`, which also opens
/// the page's Content-Security-Policy to them), and the original one click away.
enum MailViewPage {
    static func show(_ req: Request) async throws -> Response {
        let desk = try await req.desk()
        let t = desk.t
        guard let raw = req.parameters.get("attachmentId"), let id = UUID(uuidString: raw) else { throw AtiendeError.notFound("mail") }
        let attachment = try await desk.scope.find(Attachment.self, id, on: req.db)
        guard attachment.contentType == "message/rfc822" else { throw AtiendeError.notFound("mail") }
        let mail = try MIMEParser.parse(try req.atiende.files.read(attachment.sha256))
        let images = req.query[String.self, at: "images"] == "1"
        let download = "/api/v1/workspaces/\(desk.workspaceID.uuidString.lowercased())/attachments/\(id.uuidString.lowercased())"
        var body: Node<HTML.BodyContext>
        var blocked = 0
        if let html = mail.html {
            let clean = HTMLSanitizer.sanitize(html, allowRemoteImages: images)
            blocked = clean.blockedImages
            body = .div(.class("mail-html"), .raw(embedInlineImages(clean.html, mail: mail)))
        } else {
            body = .pre(.class("mail-text"), .text(mail.text))
        }
        let here = SiteURL.mailView(desk.slug, id).path
        let content: Node<HTML.BodyContext> = .div(.class("mail-view"),
            .h1(.text(mail.subject.isEmpty ? t("mail.no_subject") : mail.subject)),
            .dl(.class("mail-headers"),
                .dt(.text(t("mail.from"))), .dd(.text(mail.from.map(MailBuilder.address).joined(separator: ", "))),
                .dt(.text(t("mail.to"))), .dd(.text((mail.to + mail.cc).map(MailBuilder.address).joined(separator: ", "))),
                .unwrap(mail.date) { .group(.dt(.text(t("mail.date"))), .dd(.text(desk.format.dateTime($0)))) }),
            .p(.class("mail-actions"),
               .if(blocked > 0, .a(.id("show-images"), .href(here + "?images=1"), .text(t("mail.show_images", blocked)))),
               .text(" "), .a(.href(download), .text(t("mail.download_original")))),
            body)
        let page = Layout.desk(desk, title: mail.subject, page: "mail", content)
        let response = try await HTMLPage(html: page).encodeResponse(for: req)
        if images {
            response.headers.replaceOrAdd(name: "Content-Security-Policy", value: HTMLPage.securityHeaders[0].1
                .replacingOccurrences(of: "img-src 'self' data: blob:", with: "img-src 'self' data: blob: https: http:"))
        }
        return response
    }

    /// Image types a `cid:` part may be shown as; the data URL names one of these, never the part's own Content-Type text.
    static let inlineImageTypes: Set<String> = ["image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp"]

    /// `src="cid:x"` → the image part as a data URL (the page's policy allows data: images, nothing remote). Only the
    /// sanitized `src` attribute is replaced, and only with a known type and base64, so a part's headers cannot add markup.
    static func embedInlineImages(_ html: String, mail: ParsedMail) -> String {
        var out = html
        for part in mail.attachments {
            let type = part.contentType.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
            guard inlineImageTypes.contains(type), let id = part.contentID, part.data.count <= 5 * 1024 * 1024 else { continue }
            out = out.replacingOccurrences(of: "src=\"cid:\(HTMLSanitizer.escapeAttribute(id))\"", with: "src=\"data:\(type);base64,\(part.data.base64EncodedString())\"")
        }
        return out
    }
}
