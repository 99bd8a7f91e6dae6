/// The schemas docflow ships with: `invoice-schema`, `contract-schema` and `resume-schema`. Their label lists
/// cover common English layouts and the usual German ones; their ids cannot be taken by custom schemas.
public enum BuiltInSchemas {
    public static let all: [ExtractionSchema] = [invoice, contract, resume]

    /// The built-in schema with this id, if there is one.
    public static func schema(_ id: String) -> ExtractionSchema? {
        all.first { $0.id == id }
    }

    public static func isBuiltIn(_ id: String) -> Bool {
        schema(id) != nil
    }

    public static let invoice = ExtractionSchema(
        id: "invoice-schema",
        name: "Invoice",
        description: "Invoice number, dates, parties and amounts of an invoice.",
        fields: [
            SchemaField(
                name: "invoice_number", type: .string, required: true,
                labels: [
                    "Invoice Number", "Invoice No", "Invoice #", "Invoice ID", "Invoice Ref", "Invoice Reference",
                    "Invoice", "Inv #", "Inv No", "Bill Number", "Bill No", "Rechnungsnummer", "Rechnung Nr",
                    "Rechnungs-Nr", "Rechnung",
                ],
                description: "The invoice's identifier; it contains at least one digit."),
            SchemaField(
                name: "invoice_date", type: .date, required: true,
                labels: [
                    "Invoice Date", "Date of Invoice", "Date of Issue", "Issue Date", "Date Issued", "Issued On",
                    "Issued", "Billing Date", "Date", "Rechnungsdatum", "Datum",
                ],
                description: "The day the invoice was issued."),
            SchemaField(
                name: "due_date", type: .date,
                labels: [
                    "Due Date", "Payment Due Date", "Payment Due", "Date Due", "Due By", "Due On", "Pay By", "Due",
                    "Fälligkeitsdatum", "Fällig am", "Zahlbar bis", "Fällig",
                ],
                description: "The day payment is due."),
            SchemaField(
                name: "vendor", type: .string,
                labels: [
                    "Vendor", "Vendor Name", "From", "Seller", "Supplier", "Company", "Sold By", "Issued By",
                    "Billed By", "Payee", "Lieferant",
                ],
                description: "Who issued the invoice."),
            SchemaField(
                name: "bill_to", type: .string,
                labels: [
                    "Bill To", "Billed To", "Invoice To", "Invoiced To", "Sold To", "Customer", "Client",
                    "Recipient", "Rechnungsempfänger", "Kunde",
                ],
                description: "Who is billed; an address under the label is kept as lines joined by newlines."),
            SchemaField(
                name: "subtotal", type: .money,
                labels: [
                    "Subtotal", "Sub Total", "Net Amount", "Net Total", "Total Net", "Total before Tax",
                    "Total excl. VAT", "Total (excl. VAT)", "Total excluding VAT", "Total excl. Tax",
                    "Zwischensumme", "Nettobetrag", "Netto",
                ],
                description: "The amount before tax."),
            SchemaField(
                name: "tax", type: .money,
                labels: [
                    "Tax", "Tax Amount", "Total Tax", "Sales Tax", "VAT", "VAT Amount", "Total VAT", "GST", "HST",
                    "MwSt", "USt", "Mehrwertsteuer", "Umsatzsteuer", "TVA", "IVA",
                ],
                description: "The tax charged."),
            SchemaField(
                name: "total", type: .money, required: true,
                labels: [
                    "Total", "Amount Due", "Total Due", "Total Amount", "Total Amount Due", "Grand Total",
                    "Balance Due", "Invoice Total", "Amount Payable", "Total Payable", "Total incl. VAT",
                    "Gesamtbetrag", "Gesamtsumme", "Rechnungsbetrag", "Endbetrag", "Gesamt", "Summe",
                ],
                description: "The amount to pay."),
            SchemaField(
                name: "currency", type: .string,
                labels: ["Currency", "Währung", "Devise", "Moneda"],
                description: "ISO 4217 code; taken from the amounts when the invoice does not name it."),
        ],
        builtIn: true)

    public static let contract = ExtractionSchema(
        id: "contract-schema",
        name: "Contract",
        description: "Parties, dates, governing law and value of a contract.",
        fields: [
            SchemaField(
                name: "parties", type: .list, required: true,
                labels: ["Parties", "Party", "Between", "By and Between", "Contracting Parties"],
                pattern: #"(?i)\b(?:by and between|entered into between|made between|agreement between)\s+"#
                    + #"([^,;\n(]+?)\s*(?:\([^)\n]*\))?,?\s+and\s+([^,;\n(]+?)\s*(?:\([^)\n]*\))?\s*(?:[.,;\n]|$)"#,
                description: "The contracting parties."),
            SchemaField(
                name: "effective_date", type: .date, required: true,
                labels: [
                    "Effective Date", "Commencement Date", "Start Date", "Effective As Of", "Effective From",
                    "Dated", "Date",
                ],
                pattern: #"(?i)\beffective\s+(?:as\s+of|on|from)\s+([^\n]+)"#,
                description: "The day the contract takes effect."),
            SchemaField(
                name: "termination_date", type: .date,
                labels: [
                    "Termination Date", "End Date", "Expiration Date", "Expiry Date", "Term End", "Terminates On",
                    "Expires On", "Valid Until",
                ],
                pattern: #"(?i)\b(?:terminates?|expires?|shall end)\s+on\s+([^\n]+)"#,
                description: "The day the contract ends."),
            SchemaField(
                name: "governing_law", type: .string,
                labels: ["Governing Law", "Applicable Law", "Choice of Law", "Jurisdiction"],
                pattern: #"(?i)\bgoverned by(?:,? and construed in accordance with,?)? the laws? of (?:the )?"#
                    + #"([^.,;\n]+)"#,
                description: "Whose law governs the contract."),
            SchemaField(
                name: "contract_value", type: .money,
                labels: [
                    "Contract Value", "Total Contract Value", "Contract Amount", "Contract Price", "Total Value",
                    "Total Fee", "Total Fees", "Fees", "Fee", "Compensation", "Consideration",
                ],
                pattern: #"(?i)\b(?:contract (?:value|amount|price)|total (?:contract )?(?:value|fees?|price))"#
                    + #"\s+(?:of|is|shall be|will be|amounts to)\s+([^\n]+)"#,
                description: "The contract's total value."),
        ],
        builtIn: true)

    public static let resume = ExtractionSchema(
        id: "resume-schema",
        name: "Resume",
        description: "Contact details, skills and experience of a resume.",
        fields: [
            SchemaField(
                name: "name", type: .string, required: true,
                labels: ["Name", "Full Name", "Candidate Name", "Candidate"],
                description: "The candidate's name; without a label, the first line when it reads as a name."),
            SchemaField(
                name: "email", type: .email, required: true,
                labels: ["Email", "E-mail", "Email Address", "Mail"],
                description: "The candidate's email address."),
            SchemaField(
                name: "phone", type: .phone,
                labels: ["Phone", "Phone Number", "Telephone", "Tel", "Mobile", "Cell", "Contact Number"],
                description: "The candidate's phone number."),
            SchemaField(
                name: "skills", type: .list,
                labels: [
                    "Skills", "Technical Skills", "Core Skills", "Key Skills", "Core Competencies", "Competencies",
                    "Technologies", "Skills & Technologies", "Tech Stack",
                ],
                description: "The skills listed."),
            SchemaField(
                name: "years_experience", type: .number,
                labels: ["Years of Experience", "Years Experience", "Total Experience", "Experience"],
                pattern: #"(?i)\b(\d{1,2}(?:\.\d)?)\s*\+?\s*(?:years?|yrs?)\.?\s+(?:of\s+)?"#
                    + #"(?:(?:professional|industry|relevant|work|hands-on|commercial)\s+)?experience"#,
                description: "Years of experience, as a number."),
        ],
        builtIn: true)
}
