/* sqlscan.c — does a SQL string hold more than one command? Parsing such a string in the
 * extended protocol fails, and inside a transaction that failure would abort it, so the
 * library decides before sending. Literals, quoted identifiers, dollar quotes and comments
 * are skipped, as PostgreSQL's lexer does. */
#include "internal.h"

#include <ctype.h>
#include <string.h>

/* Skips a quoted run starting at s (at the opening quote q); backslash escapes when `esc`. */
static const char *skip_quoted(const char *s, char q, bool esc)
{
    for (s++; *s; s++) {
        if (esc && *s == '\\' && s[1]) {
            s++;
        } else if (*s == q) {
            if (s[1] != q)
                return s + 1;
            s++; /* doubled quote */
        }
    }
    return s;
}

/* At s == '$': a dollar-quote opener ($$ or $tag$)? Returns its length, else 0. */
static size_t dollar_tag(const char *s)
{
    size_t n = 1;
    if (isdigit((unsigned char)s[1]))
        return 0; /* $1: a parameter */
    while (s[n] == '_' || isalnum((unsigned char)s[n]) || (unsigned char)s[n] >= 0x80)
        n++;
    return s[n] == '$' ? n + 1 : 0;
}

static const char *skip_comment(const char *s)
{
    if (s[0] == '-' && s[1] == '-') {
        while (*s && *s != '\n')
            s++;
        return s;
    }
    int depth = 0; /* block comments nest */
    do {
        if (s[0] == '/' && s[1] == '*') {
            depth++;
            s += 2;
        } else if (s[0] == '*' && s[1] == '/') {
            depth--;
            s += 2;
        } else if (*s) {
            s++;
        } else {
            break;
        }
    } while (depth > 0);
    return s;
}

bool pp__several_commands(const char *sql)
{
    bool ended = false; /* a ';' was seen outside quotes and comments */
    const char *s = sql;
    while (*s) {
        if ((s[0] == '-' && s[1] == '-') || (s[0] == '/' && s[1] == '*')) {
            s = skip_comment(s);
            continue;
        }
        if (isspace((unsigned char)*s)) {
            s++;
            continue;
        }
        if (*s == ';') {
            ended = true;
            s++;
            continue;
        }
        if (ended)
            return true; /* something after a ';' */
        if (*s == '\'') {
            bool esc = s > sql && (s[-1] == 'E' || s[-1] == 'e') &&
                       (s - 1 == sql || !(isalnum((unsigned char)s[-2]) || s[-2] == '_'));
            s = skip_quoted(s, '\'', esc);
        } else if (*s == '"') {
            s = skip_quoted(s, '"', false);
        } else if (*s == '$' && (s == sql || !(isalnum((unsigned char)s[-1]) || s[-1] == '_'))) {
            size_t n = dollar_tag(s);
            if (n == 0) {
                s++;
                continue;
            }
            const char *close = s + n; /* find the same tag again */
            while ((close = strchr(close, '$')) != NULL && strncmp(close, s, n) != 0)
                close++;
            s = close != NULL ? close + n : s + strlen(s);
        } else {
            s++;
        }
    }
    return false;
}
