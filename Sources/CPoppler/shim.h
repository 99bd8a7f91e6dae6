#ifndef DOCFLOW_CPOPPLER_SHIM_H
#define DOCFLOW_CPOPPLER_SHIM_H

#include <poppler.h>
#include <stddef.h>

// Plain wrappers over poppler-glib so Swift never touches GObject, GBytes or GError.
// They hold no logic: each forwards to one poppler or glib call and hands back what it got.

/// The kinds of failure `docflow_pdf_open` reports, mirroring poppler's `PopplerError`.
typedef enum {
    DOCFLOW_PDF_OK = 0,
    DOCFLOW_PDF_ENCRYPTED = 1,
    DOCFLOW_PDF_DAMAGED = 2,
} docflow_pdf_status;

/// Opens a PDF held in memory (the bytes are copied). On failure returns a status other than
/// `DOCFLOW_PDF_OK` and sets `*error_out` to poppler's message, to be freed with `docflow_pdf_free`.
static inline docflow_pdf_status docflow_pdf_open(const void *bytes, size_t length, char **error_out,
                                                  void **document_out) {
    GBytes *data = g_bytes_new(bytes, length);
    GError *error = NULL;
    PopplerDocument *document = poppler_document_new_from_bytes(data, NULL, &error);
    g_bytes_unref(data);
    *document_out = document;
    *error_out = NULL;
    if (document != NULL) {
        return DOCFLOW_PDF_OK;
    }
    docflow_pdf_status status = DOCFLOW_PDF_DAMAGED;
    if (error != NULL) {
        if (error->domain == POPPLER_ERROR && error->code == POPPLER_ERROR_ENCRYPTED) {
            status = DOCFLOW_PDF_ENCRYPTED;
        }
        *error_out = g_strdup(error->message);
        g_error_free(error);
    }
    return status;
}

static inline int docflow_pdf_page_count(void *document) {
    return poppler_document_get_n_pages(POPPLER_DOCUMENT(document));
}

/// The page's text in reading order, or NULL; free with `docflow_pdf_free`. `index` counts from 0.
static inline char *docflow_pdf_page_text(void *document, int index) {
    PopplerPage *page = poppler_document_get_page(POPPLER_DOCUMENT(document), index);
    if (page == NULL) {
        return NULL;
    }
    char *text = poppler_page_get_text(page);
    g_object_unref(page);
    return text;
}

/// The document information dictionary's title, or NULL; free with `docflow_pdf_free`.
static inline char *docflow_pdf_title(void *document) {
    return poppler_document_get_title(POPPLER_DOCUMENT(document));
}

static inline void docflow_pdf_free(void *pointer) {
    g_free(pointer);
}

static inline void docflow_pdf_close(void *document) {
    if (document != NULL) {
        g_object_unref(document);
    }
}

#endif
