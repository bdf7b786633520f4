/*
 * The pages the login's callback server shows in the browser: one small
 * self-contained HTML document (no script, no external resource, so the
 * strict Content-Security-Policy holds) with a title and a body.
 */
#pragma once

/*
 * s with the HTML special characters escaped and control characters made
 * spaces, for text from outside (a profile name, a provider's error) in a
 * page. malloc'd; NULL when out of memory.
 */
char *spk_page_escape(const char *s);

/*
 * The whole page: title (plain text, ours) in <title> and <h1>, then
 * body_html (already escaped). malloc'd; NULL when out of memory.
 */
char *spk_page_render(const char *title, const char *body_html);
