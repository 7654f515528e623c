@testable import AtiendeChannels
@testable import AtiendeCore
@testable import AtiendeWeb
import Fluent
import Foundation
import Testing

@Suite("Translations and highlighting")
struct TranslationTests {
    @Test("Spanish and English have the same texts, and every literal key used in the code exists")
    func complete() throws {
        let es = try #require(Translations.tables[.es]), en = try #require(Translations.tables[.en])
        #expect(Set(es.keys) == Set(en.keys))
        let pages = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Sources/AtiendeWeb/Pages")
        var missing: [String] = []
        for file in try FileManager.default.contentsOfDirectory(atPath: pages.path) where file.hasSuffix(".swift") {
            let source = try String(contentsOf: pages.appendingPathComponent(file), encoding: .utf8)
            let regex = try NSRegularExpression(pattern: #"\bt\("([a-z_.0-9]+)""#)
            for match in regex.matches(in: source, range: NSRange(source.startIndex..., in: source)) {
                let key = String(source[Range(match.range(at: 1), in: source)!])
                if es[key] == nil { missing.append("\(file): \(key)") }
            }
        }
        #expect(missing.isEmpty, "\(missing)")
        for status in ConversationStatus.allCases { #expect(es["status.\(status.rawValue)"] != nil) }
        for status in DeliveryStatus.allCases { #expect(es["delivery.\(status.rawValue)"] != nil) }
        // The audit log names every kind of event and every family its filter offers.
        for type in EventType.allCases { #expect(es["audit.event.\(type.rawValue)"] != nil && en["audit.event.\(type.rawValue)"] != nil, "\(type)") }
        for category in AuditLog.categories {
            #expect(es["audit.category.\(category)"] != nil && !AuditLog.types(in: category).isEmpty, "\(category)")
        }
    }

    @Test("Every channel's name, field labels, choices and addresses read in both languages")
    func channels() async throws {
        try await withApp { app in
            for descriptor in app.services.channels.all {
                let inbox = Inbox(id: UUID(), workspaceID: UUID(), name: "x", channel: descriptor.kind,
                                  settings: InboxSettings(values: ["address": "a@b.cl", "verify_token": "v"]))
                let site = ChannelSite(publicURL: "https://atiende.example", workspaceSlug: "w", webhookURL: "https://atiende.example/webhooks/x")
                var keys = ["channel.\(descriptor.kind.rawValue)"] + descriptor.fields.filter(\.inForm).map(\.label)
                    + descriptor.addresses(inbox, site: site).map(\.label)
                for field in descriptor.fields { if case .choice(let options) = field.input { keys += options.map(\.label) } }
                for language in Localizer.Language.allCases {
                    let t = Localizer(language)
                    #expect(keys.filter { !t.has($0) }.isEmpty, "\(descriptor.kind) in \(language): \(keys.filter { !t.has($0) })")
                }
            }
        }
    }

    @Test("avatars show a person's initials")
    func initials() {
        #expect(Avatar.initials("Ana Rojas") == "AR" && Avatar.initials("ángel de la Fuente") == "ÁD")
        #expect(Avatar.initials("admin") == "A" && Avatar.initials("   ") == "?" && Avatar.initials("maria.paz@x.cl") == "MP")
    }

    @Test("every channel's badge is drawn as SVG in its colour, never an emoji, and a hostile icon cannot break out")
    func badges() async throws {
        try await withApp { app in
            for descriptor in app.services.channels.all {
                let svg = ChannelBadge.svg(descriptor.icon)
                #expect(svg.hasPrefix("<svg") && svg.contains(#"stroke="\#(descriptor.icon.color)""#) && descriptor.icon.color.count == 7)
                #expect(!svg.unicodeScalars.contains { $0.properties.isEmojiPresentation }, "\(descriptor.kind)")
            }
        }
        let hostile = ChannelBadge.svg(ChannelIcon(path: #"M0 0"/><script>x</script>"#, color: #"red" onload="x"#))
        #expect(!hostile.contains("<script") && !hostile.contains("onload") && hostile.contains(ChannelIcon.unknown.color))
    }

    @Test("matches are marked without regard to accents or case, at word starts")
    func highlight() {
        let segments = Highlight.segments("La ACCIÓN fue reaccionaria", terms: ["accion"])
        #expect(segments == [.init(text: "La ", marked: false), .init(text: "ACCIÓN", marked: true), .init(text: " fue reaccionaria", marked: false)])
        #expect(escapeAttribute("\"><x onload='y'>&") == "&quot;&gt;&lt;x onload=&#39;y&#39;&gt;&amp;")
    }
}
