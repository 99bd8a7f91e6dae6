import Foundation
import Testing

@testable import DocflowCore

/// One invoice layout with every value the invoice schema should find in it.
struct ExtractionInvoiceCase: Sendable, CustomTestStringConvertible {
    let name: String
    let text: String
    let fields: [String: JSONValue]
    let confidence: [String: Double]
    let missing: [String]

    var testDescription: String { name }
}

/// The same confidence for each of `names`.
private func confidences(_ value: Double, _ names: [String]) -> [String: Double] {
    Dictionary(uniqueKeysWithValues: names.map { ($0, value) })
}

private let invoiceCases: [ExtractionInvoiceCase] = [
    ExtractionInvoiceCase(
        name: "US, label: value, address under Bill To",
        text: """
            ACME Corporation
            123 Main Street
            Springfield, IL 62701

            INVOICE

            Invoice #: INV-1001
            Invoice Date: 01/15/2024
            Due Date: 02/14/2024

            Bill To:
            Beta LLC
            500 Market St
            San Francisco, CA 94105

            Description            Qty    Unit Price    Amount
            Consulting services    10     $100.00       $1,000.00
            Software license       1      $134.56       $134.56

            Subtotal: $1,134.56
            Tax (8.8%): $100.00
            Total: $1,234.56
            """,
        fields: [
            "invoice_number": "INV-1001", "invoice_date": "2024-01-15", "due_date": "2024-02-14",
            "bill_to": "Beta LLC\n500 Market St\nSan Francisco, CA 94105", "subtotal": 1134.56, "tax": 100,
            "total": 1234.56, "currency": "USD",
        ],
        confidence: confidences(0.95, ["invoice_number", "invoice_date", "due_date", "subtotal", "tax", "total"])
            .merging(["bill_to": 0.85, "currency": 0.8]) { $1 },
        missing: ["vendor"]),
    ExtractionInvoiceCase(
        name: "EU (German), dotted dates, 1.234,56 EUR",
        text: """
            Rechnung

            Müller & Söhne GmbH
            Hauptstraße 5, 10115 Berlin

            Rechnungsnummer: RE-2024-0042
            Rechnungsdatum: 15.01.2024
            Fällig am: 14.02.2024
            Kunde: Beispiel AG

            Zwischensumme: 1.037,44 EUR
            MwSt. 19%: 197,12 EUR
            Total: 1.234,56 EUR
            """,
        fields: [
            "invoice_number": "RE-2024-0042", "invoice_date": "2024-01-15", "due_date": "2024-02-14",
            "bill_to": "Beispiel AG", "subtotal": 1037.44, "tax": 197.12, "total": 1234.56, "currency": "EUR",
        ],
        confidence: confidences(
            0.95,
            ["invoice_number", "invoice_date", "due_date", "bill_to", "subtotal", "tax", "total", "currency"]),
        missing: ["vendor"]),
    ExtractionInvoiceCase(
        name: "Markdown pipe table with its own Currency row",
        text: """
            # Invoice

            | Field          | Value          |
            |----------------|----------------|
            | Invoice Number | 2024-INV-77    |
            | Invoice Date   | 2024-03-05     |
            | Due Date       | 2024-04-04     |
            | Vendor         | Globex Inc.    |
            | Bill To        | Initech LLC    |
            | Subtotal       | $2,000.00      |
            | Sales Tax      | $165.00        |
            | Total          | $2,165.00      |
            | Currency       | USD            |
            """,
        fields: [
            "invoice_number": "2024-INV-77", "invoice_date": "2024-03-05", "due_date": "2024-04-04",
            "vendor": "Globex Inc.", "bill_to": "Initech LLC", "subtotal": 2000, "tax": 165, "total": 2165,
            "currency": "USD",
        ],
        confidence: confidences(0.8, BuiltInSchemas.invoice.fields.map(\.name)),
        missing: []),
    ExtractionInvoiceCase(
        name: "labels on their own line, values on the next, euro amounts",
        text: """
            INVOICE

            Invoice Number
            INV-2024-007

            Invoice Date
            March 5, 2024

            Due Date
            April 4, 2024

            From
            Globex Corporation

            Bill To
            Initech LLC
            42 Office Park
            Austin, TX 73301

            Subtotal
            €850.00

            VAT
            €161.50

            Amount Due
            €1,011.50
            """,
        fields: [
            "invoice_number": "INV-2024-007", "invoice_date": "2024-03-05", "due_date": "2024-04-04",
            "vendor": "Globex Corporation", "bill_to": "Initech LLC\n42 Office Park\nAustin, TX 73301",
            "subtotal": 850, "tax": 161.5, "total": 1011.5, "currency": "EUR",
        ],
        confidence: confidences(0.85, BuiltInSchemas.invoice.fields.map(\.name)),
        missing: []),
    ExtractionInvoiceCase(
        name: "UK, pound sterling, VAT, columns aligned with spaces",
        text: """
            Tea & Biscuits Ltd
            VAT Reg No: GB123456789

            INVOICE

            Invoice No.          TB-5521
            Date                 3 April 2024
            Payment Due          3 May 2024
            Customer             Crumpet Cafe

            Net Total            £850.00
            VAT @ 20%            £170.00
            Total                £1,020.00
            """,
        fields: [
            "invoice_number": "TB-5521", "invoice_date": "2024-04-03", "due_date": "2024-05-03",
            "bill_to": "Crumpet Cafe", "subtotal": 850, "tax": 170, "total": 1020, "currency": "GBP",
        ],
        confidence: confidences(
            0.8, ["invoice_number", "invoice_date", "due_date", "bill_to", "subtotal", "tax", "total", "currency"]),
        missing: ["vendor"]),
    ExtractionInvoiceCase(
        name: "ISO dates, two fields on one line, USD codes",
        text: """
            Globex Corporation                          Invoice #: GX-88/2024
            1 Industrial Way                            Date: 2024-06-30
            Springfield                                 Due: 2024-07-30

            Vendor: Globex Corporation
            Sold To: Initech LLC

            Subtotal: USD 4,500.00    Tax: USD 0.00
            Grand Total: USD 4,500.00
            """,
        fields: [
            "invoice_number": "GX-88/2024", "invoice_date": "2024-06-30", "due_date": "2024-07-30",
            "vendor": "Globex Corporation", "bill_to": "Initech LLC", "subtotal": 4500, "tax": 0, "total": 4500,
            "currency": "USD",
        ],
        confidence: confidences(0.95, BuiltInSchemas.invoice.fields.map(\.name)),
        missing: []),
    ExtractionInvoiceCase(
        name: "column headers over one row, total only in a sentence",
        text: """
            INVOICE
            Initech LLC

            Invoice #     Date          Due Date
            IN-301        07/04/2024    08/03/2024

            Item                 Amount
            Widget               $40.00
            Gadget               $60.00

            Please pay the total of $100.00 by August 3, 2024.
            """,
        fields: [
            "invoice_number": "IN-301", "invoice_date": "2024-07-04", "due_date": "2024-08-03", "total": 100,
            "currency": "USD",
        ],
        confidence: [
            "invoice_number": 0.8, "invoice_date": 0.8, "due_date": 0.8, "total": 0.5, "currency": 0.5,
        ],
        missing: ["vendor", "bill_to", "subtotal", "tax"]),
]

@Suite("Extraction")
struct ExtractionTests {
    @Test("invoice layouts", arguments: invoiceCases)
    func invoiceLayouts(_ example: ExtractionInvoiceCase) {
        let result = Extractor.extract(example.text, schema: BuiltInSchemas.invoice)
        #expect(result.fields == example.fields)
        #expect(result.confidence == example.confidence)
        #expect(result.missing == example.missing)
    }

    @Test("CRLF line breaks and Markdown bold read like plain lines")
    func crlfAndBold() {
        let text = "**Invoice Number:** A-77\r\n**Total:** $12.50\r\n\r\nBill To:\r\nBeta LLC\r\n"
        let result = Extractor.extract(text, schema: BuiltInSchemas.invoice)
        #expect(result.fields["invoice_number"] == "A-77")
        #expect(result.fields["total"] == 12.5)
        #expect(result.fields["bill_to"] == "Beta LLC")
    }

    @Test("the longest label owns its line: Date, Total and Invoice do not steal longer labels")
    func longestLabelWins() {
        let text = """
            Due Date: 2024-02-01
            Subtotal: $90.00
            Invoice Date: 2024-01-01
            Total Tax: $10.00
            Issued By: Globex
            """
        let result = Extractor.extract(text, schema: BuiltInSchemas.invoice)
        #expect(result.fields["due_date"] == "2024-02-01")
        #expect(result.fields["invoice_date"] == "2024-01-01")
        #expect(result.fields["subtotal"] == 90)
        #expect(result.fields["tax"] == 10)
        #expect(result.fields["vendor"] == "Globex")
        #expect(result.fields["total"] == nil)
        #expect(result.fields["invoice_number"] == nil)
        #expect(result.missing == ["invoice_number", "bill_to", "total"])
    }

    @Test("within one method the more specific label wins over an earlier generic one")
    func specificLabelFirst() {
        let text = "Date: 2024-01-10\nInvoice Date: 2024-01-15\n"
        #expect(Extractor.extract(text, schema: BuiltInSchemas.invoice).fields["invoice_date"] == "2024-01-15")
    }

    @Test("a value that is not of the field's type leaves the field to the next method")
    func untypedValueFallsThrough() {
        let text = """
            Total: see attached
            | Total | $5.00 |
            Invoice: draft
            Invoice No. 4411
            """
        let result = Extractor.extract(text, schema: BuiltInSchemas.invoice)
        #expect(result.fields["total"] == 5)
        #expect(result.confidence["total"] == 0.8)
        #expect(result.fields["invoice_number"] == "4411")
        #expect(result.confidence["invoice_number"] == 0.95)
    }

    @Test("a label in the text's title is not taken for a value")
    func titleIsNotAValue() {
        let result = Extractor.extract("INVOICE\nAcme Corp\n\nTotal: 10.00 CHF\n", schema: BuiltInSchemas.invoice)
        #expect(result.fields["invoice_number"] == nil)
        #expect(result.fields["total"] == 10)
        #expect(result.fields["currency"] == "CHF")
        #expect(result.confidence["currency"] == 0.95)
    }

    @Test("label suffixes: a currency in parentheses and a tax rate")
    func labelSuffixes() {
        let text = "Total (EUR): 1.500,00\nVAT 20%: 300,00\n"
        let result = Extractor.extract(text, schema: BuiltInSchemas.invoice)
        #expect(result.fields["total"] == 1500)
        #expect(result.fields["tax"] == 300)
        #expect(result.fields["currency"] == "EUR")
    }

    @Test("contract with the parties in a sentence and the law in a paragraph")
    func contractProse() {
        let text = """
            MASTER SERVICES AGREEMENT

            This Master Services Agreement (the "Agreement") is entered into by and between Acme Corporation \
            ("Provider") and Beta Industries LLC ("Client").

            Effective Date: March 1, 2024
            Termination Date: 28 February 2025

            1. Services. Provider shall deliver the services described in Exhibit A.
            2. Fees. The total contract value is USD 120,000.00, payable monthly.

            Governing Law
            This Agreement shall be governed by the laws of the State of New York.
            """
        let result = Extractor.extract(text, schema: BuiltInSchemas.contract)
        #expect(
            result.fields == [
                "parties": ["Acme Corporation", "Beta Industries LLC"], "effective_date": "2024-03-01",
                "termination_date": "2025-02-28", "governing_law": "State of New York", "contract_value": 120_000,
                "contract_value_currency": "USD",
            ])
        #expect(
            result.confidence == [
                "parties": 0.9, "effective_date": 0.95, "termination_date": 0.95, "governing_law": 0.9,
                "contract_value": 0.9, "contract_value_currency": 0.9,
            ])
        #expect(result.missing == [])
    }

    @Test("contract with labelled terms")
    func contractLabels() {
        let text = """
            CONSULTING AGREEMENT

            Parties: Initech LLC; Jane Roe
            Dated: 2024-05-01
            Expiration Date: 04/30/2025
            Governing Law: England and Wales
            Contract Value: £45.000,00
            """
        let result = Extractor.extract(text, schema: BuiltInSchemas.contract)
        #expect(
            result.fields == [
                "parties": ["Initech LLC", "Jane Roe"], "effective_date": "2024-05-01",
                "termination_date": "2025-04-30", "governing_law": "England and Wales", "contract_value": 45_000,
                "contract_value_currency": "GBP",
            ])
        #expect(Set(result.confidence.values) == [0.95])
    }

    @Test("resume without labels: name from the first line, contacts and years found anywhere")
    func resumeUnlabelled() {
        let text = """
            Jane Q. Doe
            Senior Software Engineer
            jane.doe@Example.com | (555) 123-4567 | Portland, OR

            Summary
            Backend engineer with 8+ years of experience building distributed systems.

            Skills
            • Swift • Go • PostgreSQL
            • Kubernetes

            Experience
            Senior Engineer, Acme (2019–2024)
            """
        let result = Extractor.extract(text, schema: BuiltInSchemas.resume)
        #expect(
            result.fields == [
                "name": "Jane Q. Doe", "email": "jane.doe@example.com", "phone": "+1 555 123 4567",
                "skills": ["Swift", "Go", "PostgreSQL", "Kubernetes"], "years_experience": 8,
            ])
        #expect(
            result.confidence == [
                "name": 0.5, "email": 0.5, "phone": 0.5, "skills": 0.85, "years_experience": 0.9,
            ])
    }

    @Test("resume with labels")
    func resumeLabelled() {
        let text = """
            RESUME

            Name: John Smith
            Email: JOHN.SMITH@EXAMPLE.ORG
            Phone: +44 20 7946 0958
            Skills: Python, SQL; Docker
            Years of Experience: 12
            """
        let result = Extractor.extract(text, schema: BuiltInSchemas.resume)
        #expect(
            result.fields == [
                "name": "John Smith", "email": "john.smith@example.org", "phone": "+442079460958",
                "skills": ["Python", "SQL", "Docker"], "years_experience": 12,
            ])
        #expect(Set(result.confidence.values) == [0.95])
    }

    @Test("a resume whose first line is not a name has no name")
    func resumeWithoutName() {
        let result = Extractor.extract("Senior engineer, 10 years\nemail me: a@b.io\n", schema: BuiltInSchemas.resume)
        #expect(result.fields["name"] == nil)
        #expect(result.fields["email"] == "a@b.io")
        #expect(result.fields["years_experience"] == 10)
        #expect(result.confidence["years_experience"] == 0.5)
        #expect(result.missing == ["name", "phone", "skills"])
    }

    @Test("confidence_min turns weaker findings into missing fields")
    func confidenceMinimum() {
        let text = invoiceCases[0].text
        let result = Extractor.extract(text, schema: BuiltInSchemas.invoice, confidenceMin: 0.9)
        #expect(result.missing == ["vendor", "bill_to", "currency"])
        #expect(result.fields["bill_to"] == nil)
        #expect(result.confidence["bill_to"] == nil)
        #expect(result.fields["total"] == 1234.56)
        // A finding exactly at the minimum counts.
        let atMinimum = Extractor.extract(text, schema: BuiltInSchemas.invoice, confidenceMin: 0.85)
        #expect(atMinimum.fields["bill_to"] != nil)
        #expect(atMinimum.missing == ["vendor", "currency"])
        let none = Extractor.extract(text, schema: BuiltInSchemas.invoice, confidenceMin: 1)
        #expect(none.fields.isEmpty)
        #expect(none.missing == BuiltInSchemas.invoice.fields.map(\.name))
    }

    @Test("an empty text finds nothing and lists every field as missing")
    func emptyText() {
        let result = Extractor.extract("", schema: BuiltInSchemas.invoice)
        #expect(result.fields.isEmpty)
        #expect(result.confidence.isEmpty)
        #expect(result.missing == BuiltInSchemas.invoice.fields.map(\.name))
    }

    @Test("json() is the fields, null for each missing one, and _meta")
    func resultJSON() {
        let result = ExtractionResult(
            fields: ["total": 10, "total_currency": "EUR"], confidence: ["total": 0.95, "total_currency": 0.95],
            missing: ["invoice_number"])
        #expect(
            result.json() == [
                "total": 10, "total_currency": "EUR", "invoice_number": nil,
                "_meta": ["confidence": ["total": 0.95, "total_currency": 0.95], "missing": ["invoice_number"]],
            ])
        #expect(result.missing(among: ["total", "invoice_number", "vendor"]) == ["invoice_number", "vendor"])
    }

    // MARK: - Custom schemas

    @Test("a custom field's pattern comes first, capture group 1 when there is one")
    func customPattern() {
        let schema = ExtractionSchema(
            id: "purchase-order", name: "Purchase order",
            fields: [
                SchemaField(name: "po_number", type: .string, labels: ["PO Number"], pattern: #"PO-(\d{4,})"#),
                SchemaField(name: "reference", type: .string, pattern: #"REF[A-Z]{3}"#),
                SchemaField(name: "amount", type: .money, labels: ["Amount"]),
                SchemaField(name: "signers", type: .list, pattern: #"Signed by (\w+) and (\w+)"#),
            ])
        let text = "PO Number: 99\nOrder PO-12345 for REFXYZ\nAmount: 1.234,50 €\nSigned by Ann and Bob\n"
        let result = Extractor.extract(text, schema: schema)
        #expect(
            result.fields == [
                "po_number": "12345", "reference": "REFXYZ", "amount": 1234.5, "amount_currency": "EUR",
                "signers": ["Ann", "Bob"],
            ])
        #expect(
            result.confidence == [
                "po_number": 0.9, "reference": 0.9, "amount": 0.95, "amount_currency": 0.95, "signers": 0.9,
            ])
    }

    @Test("the field name with spaces for underscores is a label too")
    func fieldNameIsALabel() {
        let schema = ExtractionSchema(
            id: "x", name: "X", fields: [SchemaField(name: "order_total", type: .money)])
        let result = Extractor.extract("Order total: $7.25\n", schema: schema)
        #expect(result.fields == ["order_total": 7.25, "order_total_currency": "USD"])
        #expect(result.confidence == ["order_total": 0.95, "order_total_currency": 0.8])
    }

    @Test("a currency named by the document keeps amounts in other currencies beside them")
    func differingCurrency() {
        let text = "Currency: EUR\nSubtotal: $10.00\nTotal: 12.00 EUR\n"
        let result = Extractor.extract(text, schema: BuiltInSchemas.invoice)
        #expect(result.fields["currency"] == "EUR")
        #expect(result.fields["subtotal_currency"] == "USD")
        #expect(result.fields["total_currency"] == nil)
    }

    // MARK: - Typing

    @Test(
        "dates to ISO 8601",
        arguments: [
            ("2024-01-15", "2024-01-15"), ("2024/1/5", "2024-01-05"), ("2024-01-15T10:00:00Z", "2024-01-15"),
            ("01/15/2024", "2024-01-15"), ("05/06/2024", "2024-05-06"), ("15/01/2024", "2024-01-15"),
            ("01-15-2024", "2024-01-15"), ("15-01-2024", "2024-01-15"), ("15.01.2024", "2024-01-15"),
            ("5.6.2024", "2024-06-05"), ("01/15/24", "2024-01-15"), ("January 15, 2024", "2024-01-15"),
            ("Jan 15 2024", "2024-01-15"), ("Jan. 15th, 2024", "2024-01-15"), ("15 January 2024", "2024-01-15"),
            ("15-Jan-2024", "2024-01-15"), ("15th of January, 2024", "2024-01-15"), ("15. März 2024", "2024-03-15"),
            ("1er janvier 2024", "2024-01-01"), ("15 de enero de 2024", "2024-01-15"), ("29 Feb 2024", "2024-02-29"),
            ("due on 3 Sept 2024 (net 30)", "2024-09-03"),
        ])
    func dates(_ input: String, _ expected: String) {
        #expect(DateReader.isoDate(in: input) == expected)
    }

    @Test("not dates", arguments: ["2024-02-30", "02/29/2023", "13/13/2024", "next Tuesday", "1,234.56", "Net 30"])
    func notDates(_ input: String) {
        #expect(DateReader.isoDate(in: input) == nil)
    }

    @Test(
        "money: amount and currency",
        arguments: [
            ("$1,234.56", 1234.56, "USD"), ("1.234,56 EUR", 1234.56, "EUR"), ("€ 1.234,56", 1234.56, "EUR"),
            ("USD 1,234.56", 1234.56, "USD"), ("1 234,56 €", 1234.56, "EUR"), ("CHF 1'234.50", 1234.5, "CHF"),
            ("-$50.00", -50, "USD"), ("£850", 850, "GBP"), ("¥1,000", 1000, "JPY"), ("C$ 20.00", 20, "CAD"),
            ("1234", 1234, nil), ("0.99 usd", 0.99, "USD"), ("12,000.00 (incl. VAT)", 12000, nil),
        ] as [(String, Double, String?)])
    func money(_ input: String, _ amount: Double, _ currency: String?) {
        let parsed = AmountReader.money(input)
        #expect(parsed?.amount == amount)
        #expect(parsed?.currency?.code == currency)
    }

    @Test("not money", arguments: ["8.25%", "approx. $5", "see attached", "", "USD"])
    func notMoney(_ input: String) {
        #expect(AmountReader.money(input) == nil)
    }

    @Test(
        "numbers",
        arguments: [
            ("1,234.5", 1234.5), ("1.234,5", 1234.5), ("42", 42), ("1,234", 1234), ("1.234", 1234), ("0.125", 0.125),
            ("3.14159", 3.14159), ("1,5", 1.5), ("7 years", 7), ("7+ years", 7), ("-3", -3),
            ("1,234,567.89", 1234567.89),
        ] as [(String, Double)])
    func numbers(_ input: String, _ expected: Double) {
        #expect(AmountReader.plainNumber(input) == expected)
    }

    @Test("not numbers", arguments: ["about 7", "seven", "$5", ""])
    func notNumbers(_ input: String) {
        #expect(AmountReader.plainNumber(input) == nil)
    }

    @Test(
        "phone numbers",
        arguments: [
            ("(555) 123-4567", "+1 555 123 4567"), ("+1 555-123-4567", "+1 555 123 4567"),
            ("555.123.4567", "+1 555 123 4567"), ("1-555-123-4567", "+1 555 123 4567"),
            ("+1 (555) 123-4567 ext. 89", "+1 555 123 4567"), ("+44 20 7946 0958", "+442079460958"),
            ("0044 20 7946 0958", "+442079460958"), ("030 1234567", "0301234567"), ("+49 30 1234567", "+49301234567"),
        ])
    func phones(_ input: String, _ expected: String) {
        #expect(PhoneReader.normalise(input) == expected)
    }

    @Test("not phone numbers", arguments: ["12345", "call me", "+1 23"])
    func notPhones(_ input: String) {
        #expect(PhoneReader.normalise(input) == nil)
    }

    @Test("a phone number found anywhere must look like one")
    func loosePhones() {
        #expect(PhoneReader.first(in: "Invoice 2024-01-15, total 1,234.56, ref 12345678") == nil)
        #expect(PhoneReader.first(in: "IBAN DE89 3704 0044 0532 0130 00") == nil)
        #expect(PhoneReader.first(in: "Call +1 (555) 123-4567 today") == "+1 555 123 4567")
    }

    @Test("lists split on commas, semicolons, bullets and lines")
    func lists() {
        #expect(ListReader.items("Swift, Go; Rust • C") == ["Swift", "Go", "Rust", "C"])
        #expect(ListReader.items("- Docker\n* Kubernetes\n\n1. Terraform") == ["Docker", "Kubernetes", "Terraform"])
        #expect(ListReader.items(" , ; ").isEmpty)
    }

    @Test("emails are lowercased; a currency field reads as its ISO code")
    func emailAndCurrencyStrings() {
        #expect(EmailReader.first(in: "mailto:Jane.Doe@Example.CO.UK.") == "jane.doe@example.co.uk")
        let result = Extractor.extract("Currency: €\nEmail: x\n", schema: BuiltInSchemas.invoice)
        #expect(result.fields["currency"] == "EUR")
    }
}
