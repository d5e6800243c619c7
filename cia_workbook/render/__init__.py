"""Stage 4, render: the consolidated results written for people — the Word bilan and the
annexes of the rehousing charter (restricted and public), the consolidated workbook and its
CSV/Parquet exports, the charts, French typography and number formats. Pure functions of a
`Bilan`; they never read the working folder."""
