import AtiendeCore
import AtiendeMail
import Foundation
import Vapor

/// `atiende mail parse --file FILE.eml` prints what Atiende reads in a message (JSON); `atiende mail sanitize [--json]
/// [--remote-images]` reads HTML on standard input (or, with `--json`, a JSON array of HTML bodies) and prints it as agents
/// would see it. For support ("why did this mail show like that?") and for the end-to-end tests that render it.
struct MailCommand: AsyncCommand {
    struct Signature: CommandSignature {
        @Argument(name: "action", help: "parse | sanitize") var action: String
        @Option(name: "file", help: "parse: the .eml file") var file: String?
        @Flag(name: "json", help: "sanitize: stdin is a JSON array of bodies; prints a JSON array") var json: Bool
        @Flag(name: "remote-images", help: "sanitize: keep remote images") var remoteImages: Bool
    }
    var help: String { "Reads a mail file, or sanitizes HTML, the way Atiende shows mail." }

    func run(using context: CommandContext, signature: Signature) async throws {
        switch signature.action {
        case "parse":
            guard let path = signature.file, let data = FileManager.default.contents(atPath: path) else {
                throw AtiendeError.invalid("give the path of a readable .eml file", code: "invalid_file")
            }
            let mail = try MIMEParser.parse(data)
            let summary: [String: Any] = [
                "subject": mail.subject, "from": mail.from.map(\.email), "to": mail.to.map(\.email), "cc": mail.cc.map(\.email),
                "message_id": mail.messageID as Any, "in_reply_to": mail.inReplyTo, "references": mail.references,
                "text": mail.text, "has_html": mail.html != nil, "automatic": mail.isAutomatic, "problems": mail.problems,
                "attachments": mail.attachments.map { ["filename": $0.filename, "content_type": $0.contentType, "size": $0.data.count, "inline": $0.inline] },
                "report": mail.report.map { ["action": $0.action as Any, "status": $0.status as Any, "original_message_id": $0.originalMessageID as Any] } as Any,
            ]
            let data2 = try JSONSerialization.data(withJSONObject: summary, options: [.prettyPrinted, .sortedKeys])
            context.console.print(String(decoding: data2, as: UTF8.self))
        case "sanitize":
            let input = FileHandle.standardInput.readDataToEndOfFile()
            if signature.json {
                let bodies = try JSONDecoder().decode([String].self, from: input)
                let clean = bodies.map { HTMLSanitizer.sanitize($0, allowRemoteImages: signature.remoteImages).html }
                context.console.print(String(decoding: try JSONEncoder().encode(clean), as: UTF8.self))
            } else {
                context.console.print(HTMLSanitizer.sanitize(String(decoding: input, as: UTF8.self), allowRemoteImages: signature.remoteImages).html)
            }
        default:
            throw AtiendeError.invalid("unknown action '\(signature.action)': use parse or sanitize", code: "invalid_action")
        }
    }
}
