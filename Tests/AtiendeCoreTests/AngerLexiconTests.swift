@testable import AtiendeCore
import Testing

@Suite("Angry messages, read with negation, in Spanish and English")
struct AngerLexiconTests {
    @Test("angry words count, accents and case aside; a negation just before does not; a new clause ends the negation")
    func reads() {
        #expect(AngerLexicon.angryTerms(in: "Esto es PÉSIMO, una verdadera estafa") == ["pesimo", "estafa"])
        #expect(AngerLexicon.angryTerms(in: "No estoy molesto, solo pregunto") == [])
        #expect(AngerLexicon.angryTerms(in: "No funciona, pésimo servicio") == ["pesimo"])
        #expect(AngerLexicon.angryTerms(in: "Nunca más les compro") == ["nunca mas"])
        #expect(AngerLexicon.angryTerms(in: "I'm not angry, just asking") == [])
        #expect(AngerLexicon.angryTerms(in: "This is unacceptable. Worst service ever") == ["unacceptable", "worst"])
        #expect(AngerLexicon.angryTerms(in: "It isn't the worst, thanks") == [])
        #expect(AngerLexicon.angryTerms(in: "Hola, ¿tienen talla 38?") == [])
        #expect(AngerLexicon.angryTerms(in: "") == [])
    }
}
