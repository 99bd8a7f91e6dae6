import Foundation
import Testing

@testable import DocflowCore

private func parsed(_ text: String) -> JSONValue {
    do {
        return try JSONValue.parse(text)
    } catch {
        Issue.record("test JSON does not parse: \(error)")
        return .null
    }
}

private let validBody = """
    {
      "id": "purchase-order",
      "name": "Purchase order",
      "description": "POs from suppliers",
      "fields": [
        {"name": "po_number", "type": "string", "required": true, "labels": ["PO Number", " PO # "],
         "pattern": "PO-(\\\\d+)", "description": "the PO id"},
        {"name": "order_date", "type": "date", "labels": ["Order Date"]},
        {"name": "amount", "type": "money"}
      ]
    }
    """

@Suite("Extraction schemas")
struct ExtractionSchemaTests {
    // MARK: - Built-in schemas

    @Test("the three built-in schemas are found by id")
    func builtInLookup() throws {
        #expect(BuiltInSchemas.all.map(\.id) == ["invoice-schema", "contract-schema", "resume-schema"])
        #expect(BuiltInSchemas.all.allSatisfy { $0.builtIn })
        let invoice = try #require(BuiltInSchemas.schema("invoice-schema"))
        #expect(
            invoice.fields.map(\.name) == [
                "invoice_number", "invoice_date", "due_date", "vendor", "bill_to", "subtotal", "tax", "total",
                "currency",
            ])
        #expect(invoice.field(named: "total")?.type == .money)
        #expect(invoice.field(named: "due_date")?.type == .date)
        #expect(
            BuiltInSchemas.schema("contract-schema")?.fields.map(\.name) == [
                "parties", "effective_date", "termination_date", "governing_law", "contract_value",
            ])
        #expect(BuiltInSchemas.schema("contract-schema")?.field(named: "parties")?.type == .list)
        #expect(
            BuiltInSchemas.schema("resume-schema")?.fields.map(\.name) == [
                "name", "email", "phone", "skills", "years_experience",
            ])
        #expect(BuiltInSchemas.schema("unknown-schema") == nil)
        #expect(BuiltInSchemas.schema("Invoice-Schema") == nil)
    }

    @Test("built-in labels include the common invoice wordings")
    func builtInLabels() {
        let invoice = BuiltInSchemas.invoice
        let expected: [String: [String]] = [
            "invoice_number": ["Invoice Number", "Invoice No", "Invoice #", "Invoice", "Inv #", "Bill Number"],
            "total": ["Total", "Amount Due", "Total Due", "Grand Total", "Balance Due"],
            "tax": ["Tax", "VAT", "Sales Tax", "GST"],
            "vendor": ["From", "Vendor", "Seller", "Supplier", "Company"],
            "bill_to": ["Bill To", "Billed To", "Customer", "Sold To"],
            "due_date": ["Due Date", "Payment Due", "Due"],
            "invoice_date": ["Invoice Date", "Date", "Issued"],
        ]
        for (name, labels) in expected {
            let have = Set(invoice.field(named: name)?.labels ?? [])
            #expect(Set(labels).isSubset(of: have), "\(name) lacks some of \(labels)")
        }
    }

    @Test("every built-in schema is itself a valid body, except that its id is taken")
    func builtInsAreValid() {
        for schema in BuiltInSchemas.all {
            guard case .failure(let failure) = SchemaValidator.validate(schema.json(), id: nil) else {
                Issue.record("\(schema.id) was accepted under a built-in id")
                continue
            }
            #expect(failure.details == [FieldError(field: "id", message: "is the id of a built-in schema")])
            guard case .object(var body) = schema.json() else { continue }
            body["id"] = .string("copy-of-\(schema.id)")
            guard case .success(let copy) = SchemaValidator.validate(.object(body), id: nil) else {
                Issue.record("a copy of \(schema.id) is not valid")
                continue
            }
            #expect(copy.fields == schema.fields)
            #expect(!copy.builtIn)
        }
    }

    // MARK: - JSON

    @Test("json() of a schema and its fields")
    func schemaJSON() {
        let schema = ExtractionSchema(
            id: "po", name: "PO",
            fields: [
                SchemaField(name: "po_number", type: .string, required: true, labels: ["PO #"], pattern: "PO-(\\d+)"),
                SchemaField(name: "amount", type: .money, description: "what to pay"),
            ])
        #expect(
            schema.json() == [
                "id": "po", "name": "PO", "description": nil, "built_in": false,
                "fields": [
                    [
                        "name": "po_number", "type": "string", "required": true, "labels": ["PO #"],
                        "pattern": "PO-(\\d+)", "description": nil,
                    ],
                    [
                        "name": "amount", "type": "money", "required": false, "labels": [], "pattern": nil,
                        "description": "what to pay",
                    ],
                ],
            ])
        #expect(BuiltInSchemas.invoice.json()["built_in"] == true)
        #expect(BuiltInSchemas.invoice.json()["fields"]?.arrayValue?.count == 9)
    }

    // MARK: - Validation

    @Test("a valid POST body becomes a schema, labels trimmed")
    func validBodyAccepted() throws {
        let schema = try SchemaValidator.validate(parsed(validBody), id: nil).get()
        #expect(schema.id == "purchase-order")
        #expect(schema.name == "Purchase order")
        #expect(schema.description == "POs from suppliers")
        #expect(!schema.builtIn)
        #expect(
            schema.fields == [
                SchemaField(
                    name: "po_number", type: .string, required: true, labels: ["PO Number", "PO #"],
                    pattern: "PO-(\\d+)", description: "the PO id"),
                SchemaField(name: "order_date", type: .date, labels: ["Order Date"]),
                SchemaField(name: "amount", type: .money),
            ])
        // What json() writes reads back as the same schema.
        #expect(try SchemaValidator.validate(schema.json(), id: schema.id).get() == schema)
    }

    @Test("every problem is reported at once with its field path")
    func everyProblemAtOnce() throws {
        let body = parsed(
            """
            {
              "id": "Bad ID",
              "description": 5,
              "fields": [
                {"name": "a", "type": "string", "pattern": "([unclosed"},
                {"name": "a", "type": "number"},
                {"name": "b", "type": "currency"},
                {"name": "c", "type": "list", "labels": ["ok", "", 3]},
                {"name": "9lives", "type": "date", "required": "yes"},
                {"type": "email", "labels": "Email"},
                "not an object",
                {"name": "_meta", "type": "string", "description": []}
              ]
            }
            """)
        guard case .failure(let failure) = SchemaValidator.validate(body, id: nil) else {
            Issue.record("accepted an invalid body")
            return
        }
        let fields = failure.details.map(\.field)
        #expect(
            fields == [
                "id", "name", "description", "fields[0].pattern", "fields[1].name", "fields[2].type",
                "fields[3].labels[1]", "fields[3].labels[2]", "fields[4].name", "fields[4].required",
                "fields[5].name", "fields[5].labels", "fields[6]", "fields[7].name", "fields[7].description",
            ])
        #expect(failure.detail(for: "fields[0].pattern")?.message == "is not a valid regular expression")
        #expect(failure.detail(for: "fields[1].name")?.message == "must be unique: fields[0] has the same name")
        #expect(
            failure.detail(for: "fields[2].type")?.message
                == "must be one of string, number, money, date, email, phone, list")
        #expect(failure.detail(for: "fields[3].labels[1]")?.message == "must be a non-empty string")
        #expect(failure.detail(for: "fields[5].name")?.message == "is required")
        #expect(failure.detail(for: "fields[5].labels")?.message == "must be an array")
        #expect(failure.detail(for: "fields[6]")?.message == "must be an object")
        #expect(failure.detail(for: "fields[7].name")?.message == "is reserved")
        #expect(failure.detail(for: "name")?.message == "is required")
    }

    @Test(
        "schema ids",
        arguments: [
            ("po", true), ("purchase-order-2", true), ("0abc", true), (String(repeating: "a", count: 64), true),
            (String(repeating: "a", count: 65), false), ("-po", false), ("PO", false), ("po_order", false),
            ("", false), ("po order", false),
        ])
    func schemaIDs(_ id: String, _ valid: Bool) {
        let body: JSONValue = ["id": .string(id), "name": "X", "fields": [["name": "a", "type": "string"]]]
        let result = SchemaValidator.validate(body, id: nil)
        if valid {
            #expect((try? result.get())?.id == id)
        } else {
            guard case .failure(let failure) = result else {
                Issue.record("accepted id \(id)")
                return
            }
            #expect(failure.details.map(\.field) == ["id"])
        }
    }

    @Test("a POST needs an id that is no built-in one")
    func postIDRules() {
        let fields: JSONValue = [["name": "a", "type": "string"]]
        let missing = SchemaValidator.validate(["name": "X", "fields": fields], id: nil)
        #expect(missing.failure?.detail(for: "id")?.message == "is required")
        let builtIn = SchemaValidator.validate(["id": "invoice-schema", "name": "X", "fields": fields], id: nil)
        #expect(builtIn.failure?.detail(for: "id")?.message == "is the id of a built-in schema")
    }

    @Test("a given id (the PUT path's) is the schema's; a body id must agree, and it is checked like a POST id")
    func putIDRules() throws {
        let fields: JSONValue = [["name": "a", "type": "string"]]
        let schema = try SchemaValidator.validate(["name": "X", "fields": fields], id: "mine").get()
        #expect(schema.id == "mine")
        let agreeing = SchemaValidator.validate(["id": "mine", "name": "X", "fields": fields], id: "mine")
        #expect((try? agreeing.get()) != nil)
        let other = SchemaValidator.validate(["id": "other", "name": "X", "fields": fields], id: "mine")
        #expect(other.failure?.detail(for: "id")?.message == "must match the id of the schema being updated")
        let builtIn = SchemaValidator.validate(["name": "X", "fields": fields], id: "resume-schema")
        #expect(builtIn.failure?.detail(for: "id")?.message == "is the id of a built-in schema")
        let malformed = SchemaValidator.validate(["name": "X", "fields": fields], id: "Not Valid")
        #expect(malformed.failure?.details.map(\.field) == ["id"])
        let uuid = "3f2b8c1e-4d5a-4b6c-9e7f-0a1b2c3d4e5f"
        #expect(
            (try? SchemaValidator.validate(["id": .string(uuid), "name": "X", "fields": fields], id: uuid).get())?.id
                == uuid)
    }

    @Test("fields: required, an array, at least one")
    func fieldsRules() {
        #expect(
            SchemaValidator.validate(["id": "x", "name": "X"], id: nil).failure?.details
                == [FieldError(field: "fields", message: "is required")])
        #expect(
            SchemaValidator.validate(["id": "x", "name": "X", "fields": []], id: nil).failure?.details
                == [FieldError(field: "fields", message: "must have at least one field")])
        #expect(
            SchemaValidator.validate(["id": "x", "name": "X", "fields": "a"], id: nil).failure?.details
                == [FieldError(field: "fields", message: "must be an array")])
        #expect(
            SchemaValidator.validate(["id": "x", "name": "  ", "fields": [["name": "a", "type": "list"]]], id: nil)
                .failure?.details == [FieldError(field: "name", message: "must be 1 to 200 characters")])
    }

    @Test("a body that is not an object")
    func notAnObject() {
        #expect(
            SchemaValidator.validate("schema", id: nil).failure?.details
                == [FieldError(field: "body", message: "must be an object")])
    }

    @Test("a validated schema's pattern and labels drive extraction")
    func validatedSchemaExtracts() throws {
        let schema = try SchemaValidator.validate(parsed(validBody), id: nil).get()
        let result = Extractor.extract("Ref PO-7781\nPO #: 99\nOrder Date: 2 March 2024\nAmount: $5\n", schema: schema)
        #expect(
            result.fields == [
                "po_number": "7781", "order_date": "2024-03-02", "amount": 5, "amount_currency": "USD",
            ])
    }
}

extension Result {
    fileprivate var failure: Failure? {
        if case .failure(let failure) = self { return failure }
        return nil
    }
}
