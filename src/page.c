#include "page.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *spk_page_escape(const char *s)
{
	size_t n = 0;
	for (const char *p = s; *p; p++) {
		n += strchr("<>&\"'", *p) ? 6 : 1;
	}
	char *out = malloc(n + 1), *o = out;
	if (!out) {
		return NULL;
	}
	for (const char *p = s; *p; p++) {
		switch (*p) {
		case '<':
			o = stpcpy(o, "&lt;");
			break;
		case '>':
			o = stpcpy(o, "&gt;");
			break;
		case '&':
			o = stpcpy(o, "&amp;");
			break;
		case '"':
			o = stpcpy(o, "&quot;");
			break;
		case '\'':
			o = stpcpy(o, "&#39;");
			break;
		default:
			*o++ = (char)((unsigned char)*p < 0x20 ? ' ' : *p);
			break;
		}
	}
	*o = '\0';
	return out;
}

static const char page_head[] =
	"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
	"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
	"<title>%s</title><style>"
	"body{font:16px/1.5 system-ui,sans-serif;margin:0;display:flex;min-height:100vh;"
	"align-items:center;justify-content:center;background:#f6f7f9;color:#1b1f24}"
	"main{max-width:32rem;padding:2rem 2.5rem;background:#fff;border-radius:12px;"
	"box-shadow:0 1px 4px rgba(0,0,0,.12)}h1{font-size:1.4rem;margin:0 0 .5rem}"
	"p{margin:.5rem 0}code{background:#eef0f3;padding:0 .3em;border-radius:4px}"
	"</style></head><body><main>";
static const char page_tail[] = "</main></body></html>";

char *spk_page_render(const char *title, const char *body_html)
{
	char *page = NULL;
	char head[sizeof(page_head) + 128];

	snprintf(head, sizeof(head), page_head, title);
	if (asprintf(&page, "%s<h1>%s</h1>%s%s", head, title, body_html, page_tail) < 0) {
		return NULL;
	}
	return page;
}
