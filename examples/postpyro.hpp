/* SPDX-License-Identifier: MIT */
/* postpyro.hpp — a small header-only C++17 wrapper over libpostpyro's C API (postpyro.h):
 * RAII handles (a connection and a result free themselves), errors as exceptions carrying
 * the category, SQLSTATE, origin and psql's full text, and PP_PENDING (a signal interrupted
 * a wait) finished transparently. Copy it into a project; build with
 *   c++ -std=c++17 prog.cpp $(pkg-config --cflags --libs libpostpyro)
 * tests/consumers/consumer.cpp shows it at work. */
#ifndef POSTPYRO_HPP
#define POSTPYRO_HPP

#include <postpyro.h>

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace postpyro {

/* A failure: what pp_error said, with psql's whole text as what(). */
class error : public std::runtime_error {
public:
    explicit error(pp_error *e)
        : std::runtime_error(full_text(e)), category_(pp_error_category(e)),
          origin_(pp_error_origin(e)), sqlstate_(pp_error_sqlstate(e)),
          message_(pp_error_message(e))
    {
        pp_error_free(e);
    }
    int32_t category() const noexcept { return category_; }   /* PP_ERR_* */
    int32_t origin() const noexcept { return origin_; }       /* PP_ORIGIN_* */
    const std::string &sqlstate() const noexcept { return sqlstate_; }
    const std::string &message() const noexcept { return message_; }

private:
    static std::string full_text(const pp_error *e)
    {
        std::unique_ptr<char, void (*)(void *)> text(pp_error_format(e), pp_free);
        return text ? std::string(text.get()) : std::string(pp_error_message(e));
    }
    int32_t category_, origin_;
    std::string sqlstate_, message_;
};

/* Parameters: tagged values that point into the caller's strings (kept alive by the call). */
inline pp_value null() { return pp_value{PP_NULL, 0, 0, 0, 0, 0.0, nullptr, 0, nullptr}; }
inline pp_value integer(int64_t i) { pp_value v = null(); v.tag = PP_INT; v.i = i; return v; }
inline pp_value real(double f) { pp_value v = null(); v.tag = PP_FLOAT; v.f = f; return v; }
inline pp_value boolean(bool b) { pp_value v = null(); v.tag = PP_BOOL; v.i = b; return v; }
inline pp_value text(std::string_view s)
{
    pp_value v = null();
    v.tag = PP_TEXT;
    v.ptr = s.data();
    v.len = static_cast<int64_t>(s.size());
    return v;
}

/* One statement's outcome; frees itself. Values stay valid while the result lives. */
class result {
public:
    explicit result(pp_result *r) : r_(r, pp_result_free) {}
    int64_t rows() const { return pp_result_nrows(r_.get()); }
    int32_t columns() const { return pp_result_ncols(r_.get()); }
    int64_t affected() const { return pp_result_rows_affected(r_.get()); }
    std::string command() const { return pp_result_command(r_.get()); }
    /* The column's index by name; throws std::out_of_range when there is none. */
    int32_t column(const char *name) const
    {
        int32_t k = pp_result_column_index(r_.get(), name);
        if (k < 0)
            throw std::out_of_range(std::string("no column named ") + name);
        return k;
    }
    pp_value value(int64_t row, int32_t col) const
    {
        pp_value v;
        pp_error *e = nullptr;
        if (pp_result_value(r_.get(), row, col, &v, &e) != PP_OK)
            throw error(e);
        return v;
    }
    bool is_null(int64_t row, int32_t col) const { return value(row, col).tag == PP_NULL; }
    int64_t get_int(int64_t row, int32_t col) const { return value(row, col).i; }
    double get_double(int64_t row, int32_t col) const { return value(row, col).f; }
    std::string get_text(int64_t row, int32_t col) const
    {
        pp_value v = value(row, col);
        return v.ptr ? std::string(v.ptr, static_cast<size_t>(v.len)) : std::string();
    }
    pp_result *get() const noexcept { return r_.get(); }

private:
    std::unique_ptr<pp_result, void (*)(pp_result *)> r_;
};

/* A connection; closes and frees itself. Movable, not copyable. */
class connection {
public:
    explicit connection(const std::string &conninfo, uint32_t flags = 0) : c_(nullptr, pp_conn_free)
    {
        pp_error *e = nullptr;
        pp_conn *c = pp_connect(conninfo.c_str(), flags, &e);
        if (c == nullptr)
            throw error(e);
        c_.reset(c);
    }
    /* Runs sql with $1, $2, … taken from params. */
    result exec(const std::string &sql, std::initializer_list<pp_value> params = {})
    {
        std::vector<pp_value> p(params);
        pp_result *r = nullptr;
        pp_error *e = nullptr;
        int rc = pp_exec(c_.get(), sql.c_str(), static_cast<int32_t>(p.size()), p.data(), 0,
                         &r, &e);
        while (rc == PP_PENDING) /* a signal interrupted the wait: keep waiting */
            rc = pp_resume(c_.get(), &r, &e);
        if (rc != PP_OK)
            throw error(e);
        return result(r);
    }
    /* The server's value of a reported parameter ("server_version", "TimeZone", …), or "". */
    std::string parameter(const char *name) const
    {
        std::unique_ptr<char, void (*)(void *)> v(pp_parameter_status(c_.get(), name), pp_free);
        return v ? std::string(v.get()) : std::string();
    }
    /* s as an SQL string literal or identifier (for SQL that takes no parameters). */
    static std::string literal(std::string_view s) { return quote(s, pp_quote_literal); }
    static std::string identifier(std::string_view s) { return quote(s, pp_quote_identifier); }
    pp_conn *get() const noexcept { return c_.get(); }

private:
    static std::string quote(std::string_view s, int (*fn)(const char *, int64_t, char **,
                                                           pp_error **))
    {
        char *out = nullptr;
        pp_error *e = nullptr;
        if (fn(s.data(), static_cast<int64_t>(s.size()), &out, &e) != PP_OK)
            throw error(e);
        std::string q(out);
        pp_free(out);
        return q;
    }
    std::unique_ptr<pp_conn, void (*)(pp_conn *)> c_;
};

} // namespace postpyro

#endif
