#ifndef CCURL_H
#define CCURL_H

#include <curl/curl.h>

// Non-variadic wrappers: curl_easy_setopt and curl_easy_getinfo are variadic, which Swift
// cannot call.

typedef size_t (*docflow_curl_data_callback)(char *buffer, size_t size, size_t count, void *userdata);

CURLcode docflow_curl_set_long(CURL *handle, CURLoption option, long value);
CURLcode docflow_curl_set_string(CURL *handle, CURLoption option, const char *value);
CURLcode docflow_curl_set_pointer(CURL *handle, CURLoption option, void *value);
CURLcode docflow_curl_set_slist(CURL *handle, CURLoption option, struct curl_slist *value);
CURLcode docflow_curl_set_data_callback(CURL *handle, CURLoption option, docflow_curl_data_callback callback);
CURLcode docflow_curl_set_opensocket_callback(CURL *handle, curl_opensocket_callback callback);
CURLcode docflow_curl_get_long(CURL *handle, CURLINFO info, long *value);
CURLcode docflow_curl_get_string(CURL *handle, CURLINFO info, char **value);

#endif
