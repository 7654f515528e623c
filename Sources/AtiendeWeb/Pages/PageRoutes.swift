import AtiendeCore
import Vapor

/// The agent workspace's pages, registered from `SiteURL`.
enum PageRoutes {
    static func register(on routes: any RoutesBuilder) {
        func get(_ url: SiteURL, _ handler: @escaping @Sendable (Request) async throws -> some AsyncResponseEncodable) {
            routes.on(.GET, url.route, use: handler)
        }
        /// Every form post is refused without this browser's CSRF token, before its handler runs.
        func post<R: AsyncResponseEncodable>(_ url: SiteURL, maxSize: ByteCount = "64kb", _ handler: @escaping @Sendable (Request) async throws -> R) {
            routes.on(.POST, url.route, body: .collect(maxSize: maxSize)) { req async throws -> R in
                // A form field with a NUL (%00) is nothing a person typed, and PostgreSQL cannot store it.
                if req.headers.contentType == .urlEncodedForm, let body = req.body.string, body.range(of: "%00", options: .caseInsensitive) != nil {
                    throw AtiendeError.invalid("a field contains the NUL character", code: "invalid_text")
                }
                try await req.verifyCSRF()
                return try await handler(req)
            }
        }
        get(.asset(""), Assets.serve)
        get(.home, AuthPages.home)
        get(.login, AuthPages.login)
        post(.login, AuthPages.signIn)
        post(.logout, AuthPages.logout)
        get(.setup, AuthPages.setup)
        post(.setup, AuthPages.createFirstWorkspace)
        get(.invitation(""), AuthPages.invitation)
        post(.invitation(""), AuthPages.acceptInvitation)
        get(.account, AuthPages.account)
        post(.account, AuthPages.savePreferences)
        post(.password, AuthPages.changePassword)
        get(.signInCode, SignInCode.code)
        post(.signInCode, SignInCode.verify)
        post(.twoFactor, TwoFactorPart.begin)
        post(.twoFactorConfirm, TwoFactorPart.confirm)
        post(.twoFactorRecovery, TwoFactorPart.renewCodes)
        post(.twoFactorOff, TwoFactorPart.turnOff)
        get(.forgotPassword, PasswordResetPages.forgot)
        post(.forgotPassword, PasswordResetPages.ask)
        get(.resetPassword(""), PasswordResetPages.choose)
        post(.resetPassword(""), PasswordResetPages.save)
        post(.endOtherSessions, AccountAccessPart.endOthers)
        post(.endSession(UUID()), AccountAccessPart.endSession)
        post(.accountTokens, AccountAccessPart.createToken)
        post(.revokeToken(UUID()), AccountAccessPart.revokeToken)
        get(.switchWorkspace, AuthPages.switchWorkspace)
        get(.inbox(""), InboxPage.show)
        post(.savedViews(""), NotificationPages.saveView)
        post(.deleteSavedView("", UUID()), NotificationPages.deleteView)
        get(.conversation("", 0), ConversationPage.show)
        get(.contacts(""), ContactPages.list)
        get(.canned(""), CannedResponsesPage.show)
        get(.availability(""), TeamBoardPage.show)
        get(.macros(""), MacrosPage.show)
        get(.reports(""), ReportsPage.show)
        get(.atRisk(""), AtRiskPage.show)
        get(.contact("", UUID()), ContactPages.show)
        post(.logContact("", UUID()), ContactPages.log)
        get(.contactExport("", UUID()), PrivacyPages.export)
        get(.contactErase("", UUID()), PrivacyPages.confirm)
        post(.contactErase("", UUID()), PrivacyPages.erase)
        get(.search(""), SearchPage.show)
        get(.notifications(""), NotificationPages.show)
        get(.region("", ""), LiveRegion.frame)
        post(.notifications(""), NotificationPages.markRead)
        for section in SiteURL.Settings.allCases {
            get(.settings("", section), SettingsPages.show)
        }
        get(.auditLog(""), AuditLogPage.show)
        get(.imports(""), ImportPage.show)
        post(.imports(""), maxSize: "200mb", ImportPage.start)
        post(.settings("", .users), SettingsPages.invite)
        post(.settings("", .workspace), SettingsPages.saveWorkspace)
        post(.settings("", .service), ServiceSettingsPage.save)
        get(.helpContact(""), ContactFormPage.show)
        get(.mailView("", UUID()), MailViewPage.show)
        post(.helpContact(""), maxSize: "30mb", ContactFormPage.submit)
        get(.survey(""), SurveyPage.show)
        get(.surveyScore("", 0), SurveyPage.score)
        post(.survey(""), maxSize: "16kb", SurveyPage.submit)
    }
}
