"""The partners' side: the Excel templates sent to each partner (with their Synthèse and
Lisez-moi), the annotated copies sent back, the officer's control workbook, and the demo's
plausible returns made from the schema."""
