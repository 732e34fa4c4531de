"""Excel as county offices work (表格导出与导入): every list as .xlsx and .csv, streamed
(``export``), and offline clues imported from an .xlsx template (``clue_import``)."""
