import AtiendeCore
import AtiendeMail
import FluentKit
import Foundation

/// The `account.password_reset` job: the link, by email, in the person's language. Nothing for a reset used or expired
/// by the time it runs.
struct PasswordResetMail: JobHandler {
    let store: Store
    let mail: SystemMail
    let publicURL: String
    let secretKey: String

    func run(_ job: ClaimedJob) async throws {
        let payload = try job.decode(AccountService.ResetMail.self)
        guard let reset = try await PasswordReset.find(payload.resetID, on: store.db), reset.usedAt == nil, reset.expiresAt > store.clock.now(),
              let user = try await User.find(reset.$user.id, on: store.db), user.isActive else { return }
        let t = Localizer(Localizer.Language(rawValue: user.language) ?? .es)
        let link = publicURL.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
            + SiteURL.resetPassword(PasswordResetPages.token(for: payload.resetID, key: secretKey)).path
        let text = [t("mail.greeting", user.name), "", t("reset.mail.body"), "", link, "", t("reset.mail.expiry"), t("reset.mail.not_you")]
            .joined(separator: "\n")
        var outgoing = OutgoingMail(from: MailAddress(name: "Atiende", email: mail.from), to: [MailAddress(name: user.name, email: user.email)],
                                    subject: t("reset.mail.subject"), messageID: mail.messageID(payload.resetID), date: store.clock.now(), text: text)
        outgoing.extraHeaders = [("Auto-Submitted", "auto-generated")]
        try await mail.send(outgoing)
    }

    func deadLettered(_ job: ClaimedJob, reason: String, in tx: WriteTransaction) async throws {}
}
