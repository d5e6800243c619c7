"""The file names of the Word documents, for the commands that write them and the documents
that cite each other."""


def bilan_docx_name(year: int, diffusion: str = "restreinte") -> str:
    suffix = "" if diffusion == "restreinte" else "-publique"
    return f"bilan-cia-{year}{suffix}.docx"


def annexes_docx_name(year: int, diffusion: str = "restreinte") -> str:
    suffix = "" if diffusion == "restreinte" else "-publique"
    return f"annexes-charte-relogement-{year}{suffix}.docx"
