@testable import AtiendeCore
import Testing

@Suite("Migrations keep the DDL they ran with")
struct FrozenMigrationTests {
    @Test("the contact search query reads exactly as the frozen index expression, so PostgreSQL uses the index")
    func contactDocument() {
        #expect(SearchSQL.contactDocument() == CreateSearchIndex.contactDocument)
    }
}
