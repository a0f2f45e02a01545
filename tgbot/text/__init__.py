"""Reading and writing text: the locale catalogs (`i18n`), FAQ matching (`faq`), the danger
check (`safety`, with `safety_text` and `safety_model`), and the word stems both match on
(`textmatch`)."""
