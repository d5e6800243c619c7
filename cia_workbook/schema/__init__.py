"""The one schema of the returns: the sheets and columns each partner kind fills, their code
lists and checks, the catalogue of findings, and the format documentation written from them.
The template writer, the reader, the validator, the format documentation and the demo all
follow it."""
