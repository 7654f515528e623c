import AtiendeChannels
import AtiendeCore
import AtiendeMail
import FluentKit
import Foundation

/// Mail a mail server relays to `ATIENDE_MAIL_PORT` (SMTP or LMTP) goes to the email inbox whose address it was sent to
/// (`soporte@…` and `soporte+token@…` alike), through the same path as posted raw MIME.
struct MailReceiver: SMTPServer.Delegate {
    let services: AtiendeServices

    /// The inbox for an address; throws when the database cannot say.
    func inbox(for recipient: String) async throws -> Inbox? {
        guard let address = IdentityNormalizer.email(recipient), let at = address.firstIndex(of: "@") else { return nil }
        let local = address[..<at].split(separator: "+", maxSplits: 1).first.map(String.init) ?? ""
        let base = local + address[at...]
        let inboxes = try await Inbox.query(on: services.store.db).filter(\.$channel == .email).filter(\.$isActive == true).all()
        return inboxes.first { $0.settings.values["address"]?.lowercased() == base }
    }

    static let tryLater = "could not store the message now; try again later"

    func recipient(_ address: String) async -> SMTPServer.RecipientAnswer {
        do {
            return try await inbox(for: address) == nil ? .unknown : .accept
        } catch {
            return .tryLater(Self.tryLater)
        }
    }

    func deliver(_ delivery: SMTPServer.Delivery) async -> SMTPServer.Outcome {
        var stored: [String] = []
        var seen = Set<UUID>()
        for recipient in delivery.recipients {
            let found: Inbox?
            do { found = try await inbox(for: recipient) } catch { return .temporary(Self.tryLater) }
            guard let inbox = found, let id = inbox.id, seen.insert(id).inserted else { continue }
            do {
                switch try await services.email.deliver(delivery.message, to: inbox) {
                case .stored(let result): stored.append("#\(result.conversationNumber)")
                case .bounce(let messageID, _): stored.append("bounce of \(messageID)")
                }
            } catch let error as AtiendeError where error.status < 500 {
                return .permanent(error.message)
            } catch {
                return .temporary(Self.tryLater)
            }
        }
        return .stored(stored.joined(separator: " "))
    }
}
