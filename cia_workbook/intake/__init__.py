"""Stage 1 and 2, read → validate: a returned workbook read into polars frames (fastexcel;
the archive sniffed and its sizes bounded first, `archive`; XML and extent safety), its identity checked, each rule of the catalogue applied as a column
expression, the findings gathered; the returns of a year cached as Parquet and assembled into a
`Campaign` (resubmissions, missing partners, cross-checks between partners)."""
