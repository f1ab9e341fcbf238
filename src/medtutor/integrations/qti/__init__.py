"""QTI 2.1 export of an exam (the bank's items export and import QTI through content's formats)."""
