/* SPDX-License-Identifier: MIT */
/* sqlscan.c — does a SQL string hold more than one command? Parsing such a string in the
 * extended protocol fails, and inside a transaction that failure would abort it, so the
 * library decides before sending. Literals, quoted identifiers, dollar quotes and comments
 * are skipped, as PostgreSQL's lexer does. Also: is it a command that returns no rows? */
#include "internal.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

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

/* Identifier characters as PostgreSQL's lexer has them: ASCII letters, '_' and every byte of
 * a multibyte character start one; digits and '$' may follow. Digits start a word here too
 * (a number), which is all the scanner needs: "1$$" is no dollar quote either. */
static bool ident_char(char c, bool first)
{
    unsigned char u = (unsigned char)c;
    return isalnum(u) || c == '_' || u >= 0x80 || (!first && c == '$');
}

/* At s == '$': a dollar-quote opener ($$ or $tag$)? Returns its length, else 0. */
static size_t dollar_tag(const char *s)
{
    size_t n = 1;
    if (isdigit((unsigned char)s[1]))
        return 0; /* $1: a parameter */
    while (ident_char(s[n], false) && s[n] != '$')
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
    bool ended = false;      /* a ';' was seen outside quotes and comments */
    const char *word = NULL; /* start of the identifier or number s is in, if any */
    const char *s = sql;
    while (*s) {
        if (word != NULL && ident_char(*s, false)) {
            s++; /* '$' inside a word (a$b, é$$) opens no dollar quote */
            continue;
        }
        const char *prev_word = word;
        word = NULL;
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
            /* E'…' (the word is exactly E) has backslash escapes */
            bool esc = prev_word != NULL && s - prev_word == 1 && (*prev_word == 'E' ||
                                                                    *prev_word == 'e');
            s = skip_quoted(s, '\'', esc);
        } else if (*s == '"') {
            s = skip_quoted(s, '"', false);
        } else if (*s == '$') {
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
            if (ident_char(*s, true))
                word = s;
            s++;
        }
    }
    return false;
}

/* Commands that never return rows (INSERT, UPDATE, DELETE and MERGE only without RETURNING). */
static const char *const rowless[] = {
    "ALTER", "ANALYZE", "BEGIN", "CHECKPOINT", "CLUSTER", "COMMENT", "COMMIT", "CREATE",
    "DEALLOCATE", "DISCARD", "DO", "DROP", "END", "GRANT", "LISTEN", "LOCK", "NOTIFY",
    "REFRESH", "REINDEX", "RELEASE", "RESET", "REVOKE", "ROLLBACK", "SAVEPOINT", "SET",
    "START", "TRUNCATE", "UNLISTEN", "VACUUM"};
static const char *const writes[] = {"INSERT", "UPDATE", "DELETE", "MERGE"};

static bool word_is(const char *w, size_t n, const char *const *list, size_t count)
{
    for (size_t k = 0; k < count; k++)
        if (strlen(list[k]) == n && strncasecmp(w, list[k], n) == 0)
            return true;
    return false;
}

/* A parameter ($1) anywhere, even in a literal: a false alarm only costs speed. */
static bool mentions_parameter(const char *s)
{
    for (; (s = strchr(s, '$')) != NULL; s++)
        if (isdigit((unsigned char)s[1]))
            return true;
    return false;
}

/* The word "returning" anywhere, even in a literal: a false alarm only costs speed. */
static bool mentions_returning(const char *s)
{
    for (; *s; s++)
        if ((*s == 'r' || *s == 'R') && strncasecmp(s, "returning", 9) == 0)
            return true;
    return false;
}

bool pp__rowless_command(const char *sql)
{
    const char *s = sql;
    for (;;) { /* to the first word */
        if ((s[0] == '-' && s[1] == '-') || (s[0] == '/' && s[1] == '*'))
            s = skip_comment(s);
        else if (isspace((unsigned char)*s))
            s++;
        else
            break;
    }
    size_t n = 0;
    while (isalpha((unsigned char)s[n]))
        n++;
    if (n == 0 || s[n] == '_' || isdigit((unsigned char)s[n]) || mentions_parameter(s))
        return false; /* with $1 the statement must be described, to say it needs a value */
    if (word_is(s, n, rowless, sizeof rowless / sizeof *rowless))
        return true;
    return word_is(s, n, writes, sizeof writes / sizeof *writes) && !mentions_returning(s + n);
}
