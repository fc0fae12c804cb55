/*  ob_rules_test.c — the self-test of the rules engine (ob_rules_test):
    loading and its error messages, routing, explaining and checking,
    through the public API of ob_rules.h.                                */
#include "ob_rules.h"
#include "ob_fsm.h"
#include <unistd.h>
#include "ob_selftest.h"

/* --- self-test ------------------------------------------------------------ */


/* Writes `text` to a fresh temp file; returns its path in `path`. */
static void s_test_write(char *path, size_t pathlen, const char *text, size_t len)
{
    const char *dir = getenv("TMPDIR");
    snprintf(path, pathlen, "%s/ob_rules_test_XXXXXX", dir && *dir ? dir : "/tmp");
    int fd = mkstemp(path);
    assert(fd >= 0);
    if (len == (size_t) -1)
        len = strlen(text);
    ssize_t written = write(fd, text, len);
    assert(written == (ssize_t) len);
    close(fd);
}

static ob_rules_t *s_test_load(const char *text, char *err, size_t errlen)
{
    char path[256];
    s_test_write(path, sizeof path, text, strlen(text));
    ob_rules_t *rules = ob_rules_load(path, err, errlen);
    unlink(path);
    return rules;
}

/* Loading `text` fails with "path:<where> <message...>" containing `what`. */
static void s_test_bad(const char *text, size_t len, const char *where, const char *what,
                       bool verbose)
{
    char path[256], err[512];
    s_test_write(path, sizeof path, text, len);
    ob_rules_t *rules = ob_rules_load(path, err, sizeof err);
    unlink(path);
    size_t plen = strlen(path);
    bool ok = rules == NULL && strncmp(err, path, plen) == 0 && err[plen] == ':'
              && strncmp(err + plen + 1, where, strlen(where)) == 0 && strstr(err, what);
    if (verbose || !ok)
        printf("\n    %s%s", ok ? "" : "UNEXPECTED: ", err + plen);
    fflush(stdout);
    assert(ok);
}

#define S_TEST_BAD(text, where, what) s_test_bad(text, strlen(text), where, what, verbose)

static const char s_test_file[] =
    "version: \"2026-11-24.1\"\n"
    "timezone: \"+08:00\"\n"
    "departments:\n"
    "  - id: housing\n"
    "    name: 市住房和城乡建设局\n"
    "  - id: property\n"
    "    name: 市物业管理办公室\n"
    "  - id: a3-housing\n"
    "    name: A3区住房和城乡建设局\n"
    "  - id: hotline\n"
    "    name: 热线中心综合科\n"
    "defaults:\n"
    "  sign_within: 24h\n"
    "  reply_within: 15d\n"
    "rules:\n"
    "  - id: housing-urban\n"
    "    when:\n"
    "      category: 城乡建设\n"
    "    then:\n"
    "      lead: housing\n"
    "      reply_within: {normal: 10d, urgent: 5d, very_urgent: 24h}\n"
    "  - id: property\n"
    "    priority: 100\n"
    "    when:\n"
    "      category: [城乡建设/物业管理, 城乡建设/住房保障/物业]\n"
    "    then:\n"
    "      lead: property\n"
    "      sign_within: {normal: 12h, urgent: 2h}\n"
    "  - id: a3-housing\n"
    "    priority: 50\n"
    "    description: A3 handles its own housing cases\n"
    "    when:\n"
    "      category: 城乡建设\n"
    "      district: [A3, A4]\n"
    "    then:\n"
    "      lead: a3-housing\n"
    "  - id: catch-all\n"
    "    priority: -10\n"
    "    when: {}\n"
    "    then: {lead: hotline, reply_within: 48h}\n";

/* --- self-test of the full engine ----------------------------------------- */

/* Collects check diagnostics as "L:C: error|warning: message\n" lines. */
static void s_test_diag(void *arg, bool warning, const char *path, size_t line, size_t col,
                        const char *message)
{
    (void) path;
    char *buf = arg;
    size_t len = strlen(buf);
    snprintf(buf + len, 8192 - len, "%zu:%zu: %s: %s\n", line, col,
             warning ? "warning" : "error", message);
}

static void s_test_route(ob_rules_t *rules, ob_workorder_t *order, ob_route_t *route)
{
    /* routing and explaining agree (gating never changes a result) */
    static ob_rule_explain_t items[1024];
    ob_route_t again;
    int rc = ob_rules_route(rules, order, route);
    assert(rc == 0);
    size_t n = ob_rules_explain(rules, order, &again, items, 1024);
    assert(n == ob_rules_count(rules));
    assert(strcmp(route->rule_id, again.rule_id) == 0 && route->decision == again.decision);
    const char *first = NULL;
    for (size_t i = 0; i < n && !first; i++)
        if (items[i].matched)
            first = items[i].rule_id;
    assert(first ? route->decided && strcmp(first, route->rule_id) == 0 : !route->decided);
}

/* Why rule `id` did not match, from ob_rules_explain. */
static const char *s_test_why(ob_rules_t *rules, ob_workorder_t *order, const char *id)
{
    static ob_rule_explain_t items[64];
    size_t n = ob_rules_explain(rules, order, NULL, items, 64);
    for (size_t i = 0; i < n; i++)
        if (strcmp(items[i].rule_id, id) == 0)
            return items[i].matched ? "" : items[i].why;
    assert(!"no such rule");
    return NULL;
}

/* title_keywords and title_keywords_none: the title alone counts; explain
   says why; check understands them (shadowing, overlap); validation. */
static void s_test_title_route(bool verbose)
{
    char err[512];
    ob_rules_t *rules = s_test_load(
        "version: t-1\n"
        "departments: [{id: hrss, name: 人社局}, {id: housing, name: 住建局},\n"
        "              {id: health, name: 卫健委}]\n"
        "rules:\n"
        "  - id: wages\n"
        "    priority: 300\n"
        "    when: {title_keywords: [拖欠工资, [欠薪, 农民工]], title_keywords_none: [物业]}\n"
        "    then: {lead: hrss}\n"
        "  - id: fees\n"
        "    priority: 300\n"
        "    when: {title_keywords: 物业费, keywords_none: 咨询}\n"
        "    then: {lead: housing}\n"
        "  - id: hospital\n"
        "    priority: 200\n"
        "    when: {keywords: 医院, title_keywords_none: [社保, 医保]}\n"
        "    then: {lead: health}\n"
        "  - id: any-title\n"
        "    when: {any: [{title_keywords: 社保}, {not: {title_keywords_none: 医保}}]}\n"
        "    then: {lead: hrss}\n",
        err, sizeof err);
    if (!rules)
        printf("\n    %s", err);
    assert(rules);
    ob_workorder_t order = ORDERBUS__V1__WORK_ORDER__INIT;
    ob_route_t r;

    /* In the title: decides; the same word in the content only: does not. */
    order.title = (char *) "公司拖欠工资三个月";
    order.content = (char *) "请帮忙";
    s_test_route(rules, &order, &r);
    assert(r.matched && strcmp(r.rule_id, "wages") == 0 && strcmp(r.dept, "hrss") == 0);
    order.title = (char *) "反映一个问题";
    order.content = (char *) "公司拖欠工资三个月";
    s_test_route(rules, &order, &r);
    assert(!r.decided);
    const char *why = s_test_why(rules, &order, "wages");
    if (verbose)
        printf("\n    wages: %s", why);
    assert(strcmp(why, "title_keywords [拖欠工资, 欠薪+农民工]: none occurs in the title") == 0);

    /* A group: every word in the title (not one in the title, one in the content). */
    order.title = (char *) "农民工欠薪";
    order.content = (char *) "";
    s_test_route(rules, &order, &r);
    assert(strcmp(r.rule_id, "wages") == 0);
    order.title = (char *) "农民工的问题";
    order.content = (char *) "欠薪";
    s_test_route(rules, &order, &r);
    assert(!r.decided);

    /* title_keywords_none: a word in the title stops the rule; in the
       content it does not. */
    order.title = (char *) "物业公司拖欠工资";
    order.content = (char *) "";
    s_test_route(rules, &order, &r);
    assert(!r.decided);
    why = s_test_why(rules, &order, "wages");
    assert(strcmp(why, "title_keywords_none [物业]: '物业' occurs in the title") == 0);
    order.title = (char *) "拖欠工资";
    order.content = (char *) "我在物业公司上班";
    s_test_route(rules, &order, &r);
    assert(strcmp(r.rule_id, "wages") == 0);

    /* Mixed with keywords_none (title or content). */
    order.title = (char *) "物业费太高";
    order.content = (char *) "想咨询";
    s_test_route(rules, &order, &r);
    assert(!r.decided);
    assert(strstr(s_test_why(rules, &order, "fees"), "keywords_none [咨询]: '咨询' occurs in "
                                                     "the title or content"));
    order.content = (char *) "";
    s_test_route(rules, &order, &r);
    assert(strcmp(r.rule_id, "fees") == 0);

    /* keywords over both texts, title_keywords_none over the title. */
    order.title = (char *) "医院收费";
    order.content = (char *) "社保卡不能用";
    s_test_route(rules, &order, &r);
    assert(strcmp(r.rule_id, "hospital") == 0);
    order.title = (char *) "医保报销";
    order.content = (char *) "在医院";
    s_test_route(rules, &order, &r);
    assert(strcmp(r.rule_id, "any-title") == 0);  /* not: {title_keywords_none: 医保} */
    order.title = (char *) "社保";
    order.content = NULL;
    s_test_route(rules, &order, &r);
    assert(strcmp(r.rule_id, "any-title") == 0);
    order.title = NULL;
    order.content = (char *) "社保 医保 拖欠工资";
    s_test_route(rules, &order, &r);
    assert(!r.decided);
    ob_rules_destroy(&rules);
}

static void s_test_title_check(bool verbose)
{
    char path[256];
    int nerrors;
    /* Check: title_keywords implies keywords (shadowed), not the reverse;
       keywords_none implies title_keywords_none; overlap on a shared word. */
    char *diag = calloc(1, 8192);
    assert(diag);
    s_test_write(path, sizeof path,
                 "version: c-3\n"
                 "departments: [{id: a, name: A}, {id: b, name: B}]\n"
                 "rules:\n"
                 "  - {id: k, priority: 9, when: {keywords: [社保, 医保]}, then: {lead: a}}\n"
                 "  - {id: t, priority: 8, when: {title_keywords: 社保}, then: {lead: b}}\n"
                 "  - {id: t2, priority: 7, when: {title_keywords: 工资}, then: {lead: a}}\n"
                 "  - {id: k2, priority: 6, when: {keywords: 工资}, then: {lead: b}}\n"
                 "  - {id: n1, priority: 5, when: {title_keywords_none: [物业]}, then: {lead: a}}\n"
                 "  - {id: n2, priority: 4, when: {keywords_none: [物业, 咨询]}, then: {lead: b}}\n"
                 "  - {id: o1, priority: 3, when: {title_keywords: [停车, 车位]}, then: {lead: a}}\n"
                 "  - {id: o2, priority: 3, when: {title_keywords: [车位, 车库]}, then: {lead: b}}\n"
                 "  - {id: o3, priority: 3, when: {keywords: [车位]}, then: {lead: b}}\n",
                 (size_t) -1);
    nerrors = ob_rules_check(path, s_test_diag, diag);
    assert(nerrors == 0);
    if (verbose)
        printf("\n%s", diag);
    fflush(stdout);
    assert(strstr(diag, "5:5: warning: rule 't' is shadowed: rule 'k' (line 4"));
    assert(!strstr(diag, "rule 'k2'"));
    assert(strstr(diag, "9:5: warning: rule 'n2' is shadowed: rule 'n1' (line 8"));
    assert(strstr(diag, "11:5: warning: rule 'o2' overlaps rule 'o1' (line 10)"));
    /* different kinds: 车位 in the title is 车位 in the text */
    assert(strstr(diag, "12:5: warning: rule 'o3' may overlap rule 'o1' (line 10)"));
    unlink(path);
    free(diag);
}

static void s_test_title_bad(bool verbose)
{
    char text[1024];
    const char *head = "version: v1\ndepartments: [{id: a, name: A}]\n";
#define S_BAD(tail, where, what)                                                             \
    (snprintf(text, sizeof text, "%s%s", head, tail),                                          \
     s_test_bad(text, strlen(text), where, what, verbose))
    S_BAD("rules:\n  - {id: r, when: {title_keywords_none: [[a, b]]}, then: {lead: a}}\n",
          "4:42: ", "groups of words are for 'keywords' and 'title_keywords'");
    S_BAD("rules:\n  - {id: r, when: {title_keywords: []}, then: {lead: a}}\n", "4:36: ",
          "title_keywords must not be an empty list");
    S_BAD("rules:\n  - {id: r, when: {title_keywords: [[]]}, then: {lead: a}}\n", "4:37: ",
          "a keyword group must not be an empty list");
    S_BAD("rules:\n  - {id: r, when: {title_keywords: {a: b}}, then: {lead: a}}\n", "4:36: ",
          "title_keywords must be a string or a list of strings");
    S_BAD("rules:\n  - {id: r, when: {title_keywords_none: '   '}, then: {lead: a}}\n", "4:41: ",
          "is blank");
    S_BAD("rules:\n  - {id: r, when: {title_keywords: a, title_keywords: b}, then: {lead: a}}\n",
          "4:39: ", "duplicate key 'title_keywords' in when");
    S_BAD("rules:\n  - {id: r, when: {title_keyword: a}, then: {lead: a}}\n", "4:20: ",
          "unknown key 'title_keyword' in when");
#undef S_BAD
}

static void s_test_title(bool verbose)
{
    s_test_title_route(verbose);
    s_test_title_check(verbose);
    s_test_title_bad(verbose);
}

/* The engine test's rule set and the order it routes, changed step by
   step by the s_engine_* parts in turn. */
typedef struct {
    ob_rules_t *rules;
    ob_workorder_t order;
    Orderbus__V1__Location loc;
    char *cats[3];
} s_engine_t;

/* The engine test's rule file: every kind of condition and decision. */
static void s_engine_file(char *text, size_t size, const char *tax, const char *geo)
{
    snprintf(text, size,
             "version: e-1\n"
             "taxonomy: %s\n"
             "departments:\n"
             "  - {id: housing, name: 市住房和城乡建设局}\n"
             "  - {id: property, name: 市物业管理办公室}\n"
             "  - {id: env, name: 市生态环境局}\n"
             "  - {id: supervision, name: 纪检组}\n"
             "  - {id: xihu, name: 西湖区政府}\n"
             "sites: [{id: province, name: 省12345热线}]\n"
             "defaults: {assist_within: 2d}\n"
             "recusal:\n"
             "  instead: supervision\n"
             "  departments:\n"
             "    - {dept: housing, names: [住建局, Housing Bureau]}\n"
             "    - {dept: supervision, instead: housing}\n"
             "rules:\n"
             "  - id: police\n"
             "    priority: 1000\n"
             "    when: {keywords: [打架斗殴, [有人, 抢劫]]}\n"
             "    then: {reject: {reason: 警情, referral: '110'}, priority: 9}\n"
             "  - id: province\n"
             "    priority: 500\n"
             "    when: {keywords: 高速公路收费}\n"
             "    then: {transfer: {site: province}}\n"
             "  - id: property\n"
             "    priority: 100\n"
             "    when:\n"
             "      category: 城乡建设/物业管理\n"
             "      keywords: [物业费, 物业公司]\n"
             "      keywords_none: [咨询]\n"
             "    then: {lead: property, assist: [housing, env], sign_within: 12h}\n"
             "  - id: night-noise\n"
             "    priority: 100\n"
             "    when:\n"
             "      keywords_all: [噪音, 施工]\n"
             "      hours: ['22:00-06:00']\n"
             "      any: [{district: A3}, {polygon: {file: %s, name: 西湖区}}]\n"
             "    then: {lead: env, confidential: true}\n"
             "  - id: area\n"
             "    priority: 50\n"
             "    when: {polygon: %s, not: {channel: LETTER}}\n"
             "    then: {lead: xihu}\n"
             "  - id: weekend\n"
             "    priority: 50\n"
             "    when: {weekdays: [sat, sun], urgency: [URGENT, very_urgent],\n"
             "           appeal_type: COMPLAINT, anonymous: true}\n"
             "    then: {manual: 周末}\n"
             "  - id: street\n"
             "    priority: 40\n"
             "    when: {street: [S01, 文三路], target_org: [某某公司]}\n"
             "    then: {lead: env}\n"
             "  - id: exact\n"
             "    priority: 30\n"
             "    when: {category_exact: 城乡建设/物业管理}\n"
             "    then: {lead: housing}\n"
             "  - id: housing\n"
             "    when: {category: 城乡建设}\n"
             "    then: {lead: housing, assist: property}\n",
             tax, geo, geo);
}

/* Reject, transfer, dispatch with assistants; explain. */
static void s_engine_decisions(s_engine_t *fx, bool verbose)
{
    ob_rules_t *rules = fx->rules;
    ob_workorder_t *o = &fx->order;
    ob_route_t r;
    /* Keywords (Chinese), a group, reject with referral. */
    o->title = (char *) "有人在小区抢劫";
    o->content = (char *) "";
    s_test_route(rules, o, &r);
    assert(r.decided && !r.matched && r.decision == OB_DECISION_REJECT);
    assert(strcmp(r.rule_id, "police") == 0 && strcmp(r.reason, "警情") == 0);
    assert(strcmp(r.referral, "110") == 0 && r.priority == 9 && r.dept[0] == '\0');
    assert(strcmp(r.version, "e-1") == 0);
    o->title = (char *) "小区抢劫";  /* the group needs both words */
    s_test_route(rules, o, &r);
    assert(!r.decided && r.decision == OB_DECISION_MANUAL && r.rule_id[0] == '\0');
    assert(r.sign_within.hours == 24 && r.reply_within.days == 15);

    /* Transfer. */
    o->content = (char *) "高速公路收费不合理";
    s_test_route(rules, o, &r);
    assert(r.decision == OB_DECISION_TRANSFER && strcmp(r.site, "province") == 0);
    assert(strcmp(r.site_name, "省12345热线") == 0);

    /* Category + keywords + negative keyword; assist; explain. */
    o->category = fx->cats;
    o->n_category = 2;
    o->title = (char *) "物业公司乱收费";
    o->content = (char *) "";
    s_test_route(rules, o, &r);
    assert(r.matched && strcmp(r.dept, "property") == 0 && r.sign_within.hours == 12);
    assert(r.n_assist == 2 && strcmp(r.assist[0], "housing") == 0);
    assert(r.assist_within.days == 2 && r.assist_within.hours == 0 && r.recused[0] == '\0');
    o->content = (char *) "想咨询一下";
    s_test_route(rules, o, &r);
    assert(strcmp(r.rule_id, "exact") == 0);
    const char *why = s_test_why(rules, o, "property");
    if (verbose)
        printf("\n    property: %s", why);
    assert(strstr(why, "keywords_none [咨询]: '咨询' occurs"));
    o->n_category = 3;  /* not exact any more: the general rule */
    s_test_route(rules, o, &r);
    assert(strcmp(r.rule_id, "housing") == 0 && r.n_assist == 1);
    why = s_test_why(rules, o, "exact");
    assert(strstr(why, "城乡建设/物业管理/物业服务 is none of them"));
}

/* Recusal (回避). */
static void s_engine_recusal(s_engine_t *fx, bool verbose)
{
    ob_rules_t *rules = fx->rules;
    ob_workorder_t *o = &fx->order;
    ob_route_t r;
    /* Recusal: the lead named by target_org goes to `instead`; a named
       assist is dropped; ASCII names match without regard to case. */
    o->target_org = (char *) "A市住建局";
    s_test_route(rules, o, &r);
    assert(r.matched && strcmp(r.dept, "supervision") == 0);
    assert(strcmp(r.recused, "housing") == 0 && r.n_assist == 1);
    assert(ob_rules_recused(rules, o, "housing"));
    assert(!ob_rules_recused(rules, o, "property"));
    o->target_org = (char *) "the  HOUSING bureau of A";
    s_test_route(rules, o, &r);
    assert(strcmp(r.dept, "supervision") == 0);
    o->target_org = (char *) "市物业管理办公室";  /* display name; an assist */
    s_test_route(rules, o, &r);
    assert(strcmp(r.dept, "housing") == 0 && r.n_assist == 0);
    assert(strcmp(r.recused, "property") == 0);
    o->target_org = (char *) "纪检组和住建局";  /* lead and its instead: manual */
    s_test_route(rules, o, &r);
    assert(r.decided && !r.matched && r.decision == OB_DECISION_MANUAL);
    assert(strcmp(r.recused, "housing") == 0 && strstr(r.reason, "recusal"));
    o->target_org = NULL;
}

/* Hours and any/polygon. */
static void s_engine_hours(s_engine_t *fx, bool verbose)
{
    ob_rules_t *rules = fx->rules;
    ob_workorder_t *o = &fx->order;
    Orderbus__V1__Location *loc = &fx->loc;
    ob_route_t r;
    const char *why;
    /* Hours (wrapping midnight, site zone +08:00) and any/polygon. */
    o->n_category = 0;
    o->title = (char *) "夜间施工噪音";
    o->content = (char *) "";
    o->received_at_ms = 1764007200000;  /* 2025-11-24 18:00 UTC = 02:00 +08, Tuesday */
    o->location = loc;
    loc->district_code = (char *) "A3";
    s_test_route(rules, o, &r);
    assert(strcmp(r.rule_id, "night-noise") == 0 && r.confidential);
    loc->district_code = (char *) "A4";
    s_test_route(rules, o, &r);
    assert(!r.decided);
    why = s_test_why(rules, o, "night-noise");
    assert(strncmp(why, "any: none of its 2 alternatives holds", 37) == 0);
    loc->has_point = true;
    loc->lat = 30.1;
    loc->lon = 120.1;
    s_test_route(rules, o, &r);
    assert(strcmp(r.rule_id, "night-noise") == 0);
    o->received_at_ms = 1764007200000 - 5 * 3600 * 1000;  /* 21:00 */
    s_test_route(rules, o, &r);
    assert(strcmp(r.rule_id, "area") == 0 && strcmp(r.dept, "xihu") == 0);
    why = s_test_why(rules, o, "night-noise");
    assert(strstr(why, "received at 21:00"));
    o->channel = ORDERBUS__V1__CHANNEL__CHANNEL_LETTER;  /* not: */
    s_test_route(rules, o, &r);
    assert(!r.decided);
    why = s_test_why(rules, o, "area");
    assert(strstr(why, "not: {channel [LETTER]} holds"));
    o->channel = ORDERBUS__V1__CHANNEL__CHANNEL_PHONE;
    loc->lat = 30.5;
    s_test_route(rules, o, &r);
    assert(!r.decided);
}

/* Weekdays, urgency, appeal type, anonymous, street, target_org. */
static void s_engine_when(s_engine_t *fx, bool verbose)
{
    ob_rules_t *rules = fx->rules;
    ob_workorder_t *o = &fx->order;
    Orderbus__V1__Location *loc = &fx->loc;
    ob_route_t r;
    /* Weekdays, urgency, appeal type, anonymous. */
    o->received_at_ms = 1764403200000;  /* Sat 2025-11-29 16:00 +08 */
    o->urgency = ORDERBUS__V1__URGENCY__URGENCY_VERY_URGENT;
    o->appeal_type = ORDERBUS__V1__APPEAL_TYPE__APPEAL_COMPLAINT;
    o->anonymous = true;
    s_test_route(rules, o, &r);
    assert(strcmp(r.rule_id, "weekend") == 0 && r.decision == OB_DECISION_MANUAL);
    assert(strcmp(r.reason, "周末") == 0);
    o->anonymous = false;
    s_test_route(rules, o, &r);
    assert(!r.decided);
    assert(strstr(s_test_why(rules, o, "weekend"), "the order is not anonymous"));
    o->anonymous = true;
    o->received_at_ms += 2 * 86400 * 1000LL;  /* Monday */
    s_test_route(rules, o, &r);
    assert(!r.decided);
    assert(strstr(s_test_why(rules, o, "weekend"), "received on a mon"));

    /* Street (code or name) and target_org (contains). */
    loc->street = (char *) "文三路";
    o->target_org = (char *) "杭州某某公司";
    s_test_route(rules, o, &r);
    assert(strcmp(r.rule_id, "street") == 0);
    loc->street = (char *) "文二路";
    s_test_route(rules, o, &r);
    assert(!r.decided);
}

static void s_test_engine_check(char *text, const char *tax, bool verbose)
{
    char path[256];
    int nerrors;
    /* Check: errors in several rules, each with its position; warnings. */
    char *diag = calloc(1, 8192);
    assert(diag);
    snprintf(text, 8192,
             "version: c-1\n"
             "taxonomy: %s\n"
             "departments: [{id: a, name: A}, {id: b, name: B}]\n"
             "rules:\n"
             "  - id: r1\n"
             "    when: {category: 城乡建设/无此类}\n"
             "    then: {lead: a}\n"
             "  - id: r2\n"
             "    when: {channel: FAX}\n"
             "    then: {lead: a}\n"
             "  - id: r3\n"
             "    then: {lead: a, manual: x}\n",
             tax);
    s_test_write(path, sizeof path, text, strlen(text));
    nerrors = ob_rules_check(path, s_test_diag, diag);
    assert(nerrors == 3);
    if (verbose)
        printf("\n%s", diag);
    fflush(stdout);
    assert(strstr(diag, "6:22: error: category '城乡建设/无此类' is not in the taxonomy"));
    assert(strstr(diag, "9:21: error: unknown channel 'FAX'"));
    assert(strstr(diag, "12:21: error: then has both 'lead' and 'manual'"));
    unlink(path);
    diag[0] = '\0';
    s_test_write(path, sizeof path,
                 "version: c-2\n"
                 "departments: [{id: a, name: A}, {id: b, name: B}]\n"
                 "rules:\n"
                 "  - {id: general, when: {category: 城乡建设}, then: {lead: a}}\n"
                 "  - {id: special, when: {category: 城乡建设/物业管理, district: A3},\n"
                 "     then: {lead: b}}\n"
                 "  - {id: kw1, priority: 5, when: {keywords: [漏水, 渗水]}, then: {lead: a}}\n"
                 "  - {id: kw2, priority: 5, when: {keywords: [漏水]}, then: {lead: a}}\n"
                 "  - {id: kw3, priority: 5, when: {keywords: [渗水, 滴水]}, then: {lead: b}}\n"
                 "  - {id: kw4, priority: 5, when: {keywords: [噪音]}, then: {lead: b}}\n"
                 "  - {id: all, priority: -5, then: {lead: a}}\n"
                 "  - {id: late, priority: -6, when: {district: A1}, then: {lead: b}}\n",
                 (size_t) -1);
    nerrors = ob_rules_check(path, s_test_diag, diag);
    assert(nerrors == 0);
    if (verbose)
        printf("%s", diag);
    fflush(stdout);
    assert(strstr(diag, "5:5: warning: rule 'special' is shadowed: rule 'general' (line 4"));
    assert(strstr(diag, "8:5: warning: rule 'kw2' is shadowed: rule 'kw1'"));
    assert(strstr(diag, "9:5: warning: rule 'kw3' overlaps rule 'kw1' (line 7)"));
    /* kinds or values that do not exclude each other: one order with 漏水 and 噪音 */
    assert(strstr(diag, "10:5: warning: rule 'kw4' may overlap rule 'kw1' (line 7)"));
    assert(strstr(diag, "12:5: warning: rule 'late' is unreachable: rule 'all'"));
    unlink(path);
    diag[0] = '\0';
    nerrors = ob_rules_check("/nonexistent/r.yaml", s_test_diag, diag);
    assert(nerrors == 1);
    assert(strncmp(diag, "0:0: error: cannot open rule file", 33) == 0);
    free(diag);
}

static void s_test_engine_bad(char *text, bool verbose)
{
    /* Bad new syntax, each with its position. */
    const char *head = "version: v1\ndepartments:\n  - {id: a, name: A}\n  - {id: b, name: B}\n";
#define S_BAD(tail, where, what)                                                             \
    (snprintf(text, 8192, "%s%s", head, tail), s_test_bad(text, strlen(text), where, what, verbose))
    S_BAD("rules:\n  - {id: r, then: {}}\n", "6:19: ", "then needs a decision");
    S_BAD("rules:\n  - {id: r, then: {reject: {reason: x}, assist: a}}\n", "6:41: ",
          "'assist' goes only with 'lead'");
    S_BAD("rules:\n  - {id: r, then: {reject: {referral: '110'}}}\n", "6:28: ",
          "missing required key 'reason' in reject");
    S_BAD("rules:\n  - {id: r, then: {transfer: {site: x}}}\n", "6:37: ",
          "transfer site 'x' is not declared under sites");
    S_BAD("rules:\n  - {id: r, then: {lead: a, assist: [b, a]}}\n", "6:41: ",
          "assist department 'a' is the lead");
    S_BAD("rules:\n  - {id: r, then: {lead: a, priority: 10}}\n", "6:39: ",
          "then.priority must be between 0 and 9");
    S_BAD("rules:\n  - {id: r, when: {keywords: ['  ']}, then: {lead: a}}\n", "6:31: ",
          "is blank");
    S_BAD("rules:\n  - {id: r, when: {keywords_none: [[a, b]]}, then: {lead: a}}\n", "6:36: ",
          "groups of words are for 'keywords'");
    S_BAD("rules:\n  - {id: r, when: {weekdays: [mon, funday]}, then: {lead: a}}\n", "6:36: ",
          "bad weekday 'funday'");
    S_BAD("rules:\n  - {id: r, when: {hours: '08:00-08:00'}, then: {lead: a}}\n", "6:27: ",
          "empty range");
    S_BAD("rules:\n  - {id: r, when: {anonymous: maybe}, then: {lead: a}}\n", "6:31: ",
          "anonymous must be true or false");
    S_BAD("rules:\n  - {id: r, when: {any: {district: A}}, then: {lead: a}}\n", "6:25: ",
          "any must be a list of condition mappings");
    S_BAD("rules:\n  - {id: r, when: {not: {distrct: A}}, then: {lead: a}}\n", "6:26: ",
          "unknown key 'distrct' in when");
    S_BAD("rules:\n  - {id: r, when: {polygon: /nonexistent.geojson}, then: {lead: a}}\n",
          "6:29: ", "polygon '/nonexistent.geojson': cannot open");
    S_BAD("rules:\n  - {id: r, when: {appeal_type: UNSPECIFIED}, then: {lead: a}}\n", "6:33: ",
          "unknown appeal_type");
    S_BAD("recusal: {instead: a, departments: [{dept: a}]}\n", "5:44: ",
          "cannot go instead to 'a' itself");
    S_BAD("recusal: {departments: [{dept: c}]}\n", "5:32: ", "recusal dept 'c' is not declared");
    S_BAD("taxonomy: /nonexistent.csv\n", "5:11: ", "cannot open taxonomy");
    S_BAD("sites: [{id: s, name: S}, {id: s, name: T}]\n", "5:32: ", "duplicate site id 's'");
#undef S_BAD
}

static void s_test_engine_gating(bool verbose)
{
    char err[512], path[256];
    ob_rules_t *rules;
    ob_route_t r;
    /* Many rules and keywords: gating keeps results equal to a full scan. */
    size_t cap = 1 << 20;
    char *big = malloc(cap);
    assert(big);
    size_t len = (size_t) snprintf(big, cap, "version: big\ndepartments:\n");
    for (int d = 0; d < 20; d++)
        len += (size_t) snprintf(big + len, cap - len, "  - {id: d%d, name: 部门%d}\n", d, d);
    len += (size_t) snprintf(big + len, cap - len, "rules:\n");
    for (int i = 0; i < 1000; i++) {
        len += (size_t) snprintf(big + len, cap - len, "  - id: r%d\n    priority: %d\n", i,
                                 i % 7);
        if (i % 6 == 3)  /* title only: gated by its keywords too */
            len += (size_t) snprintf(big + len, cap - len,
                                     "    when: {title_keywords: [词%d, 语%d], "
                                     "title_keywords_none: 语%d}\n", i, i % 50, i % 7);
        else if (i % 3 == 0)
            len += (size_t) snprintf(big + len, cap - len,
                                     "    when: {keywords: [词%d, 语%d]}\n", i, i % 50);
        else if (i % 3 == 1)
            len += (size_t) snprintf(big + len, cap - len,
                                     "    when: {category: 类%d, keywords_none: [词%d]}\n",
                                     i % 40, i);
        else
            len += (size_t) snprintf(big + len, cap - len, "    when: {district: D%d}\n", i % 30);
        len += (size_t) snprintf(big + len, cap - len, "    then: {lead: d%d}\n", i % 20);
    }
    s_test_write(path, sizeof path, big, len);
    rules = ob_rules_load(path, err, sizeof err);
    unlink(path);
    if (!rules)
        printf("\n    %s", err);
    assert(rules && ob_rules_count(rules) == 1000);
    ob_workorder_t o2 = ORDERBUS__V1__WORK_ORDER__INIT;
    Orderbus__V1__Location l2 = ORDERBUS__V1__LOCATION__INIT;
    char title[128], content[128], cat[32], dist[16];
    char *cp = cat;
    o2.title = title;
    o2.content = content;
    o2.category = &cp;
    o2.location = &l2;
    l2.district_code = dist;
    unsigned seed = 7;
    for (int k = 0; k < 300; k++) {
        seed = seed * 1103515245 + 12345;
        snprintf(title, sizeof title, "关于词%u和语%u的反映", (seed >> 8) % 1200, (seed >> 4) % 60);
        snprintf(content, sizeof content, "还有词%u和语%u", (seed >> 10) % 1200, (seed >> 6) % 60);
        snprintf(cat, sizeof cat, "类%u", (seed >> 12) % 45);
        snprintf(dist, sizeof dist, "D%u", (seed >> 16) % 35);
        o2.n_category = (seed >> 20) % 2;
        s_test_route(rules, &o2, &r);
    }
    ob_rules_destroy(&rules);
    free(big);
}

static void s_test_engine(bool verbose)
{
    char err[512], geo[256], tax[256], path[256];
    s_test_write(geo, sizeof geo,
                 "{\"type\": \"Feature\", \"properties\": {\"name\": \"西湖区\"},"
                 " \"geometry\": {\"type\": \"Polygon\", \"coordinates\":"
                 " [[[120.0,30.0],[120.2,30.0],[120.2,30.3],[120.0,30.3]]]}}", (size_t) -1);
    s_test_write(tax, sizeof tax,
                 "一级分类,二级分类,三级分类\n城乡建设,物业管理,物业服务\n"
                 "城乡建设,住房保障与房地产,房产管理\r\n环境保护,环境污染,噪声污染\n", (size_t) -1);
    char *text = malloc(8192);
    assert(text);
    s_engine_file(text, 8192, tax, geo);
    s_test_write(path, sizeof path, text, strlen(text));
    s_engine_t fx = {.order = ORDERBUS__V1__WORK_ORDER__INIT,
                     .loc = ORDERBUS__V1__LOCATION__INIT,
                     .cats = {(char *) "城乡建设", (char *) "物业管理", (char *) "物业服务"}};
    ob_rules_t *rules = fx.rules = ob_rules_load(path, err, sizeof err);
    if (!rules)
        printf("\n    %s", err);
    fflush(stdout);
    assert(rules);
    assert(ob_rules_count(rules) == 9);
    assert(strcmp(ob_rules_site_lookup(rules, "province"), "省12345热线") == 0);

    s_engine_decisions(&fx, verbose);
    s_engine_recusal(&fx, verbose);
    s_engine_hours(&fx, verbose);
    s_engine_when(&fx, verbose);
    ob_rules_destroy(&fx.rules);

    s_test_engine_check(text, tax, verbose);
    s_test_engine_bad(text, verbose);
    s_test_engine_gating(verbose);
    free(text);
    unlink(geo);
    unlink(tax);
}

/* Writes `text` to dir/name. */
static void s_test_put(const char *dir, const char *name, const char *text, char *path,
                       size_t pathlen)
{
    snprintf(path, pathlen, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert(f);
    size_t written = fwrite(text, 1, strlen(text), f);
    int rc = fclose(f);
    assert(written == strlen(text));
    assert(rc == 0);
}

/* Overlaps left alone only when no order can match both rules. */
static void s_test_check_overlaps(const char *dir, char *diag, bool verbose)
{
    char path[512];
    int nerrors;
    s_test_put(dir, "o.yaml",
               "version: o-1\n"
               "taxonomy: false\n"
               "departments: [{id: a, name: A}, {id: b, name: B}]\n"
               "rules:\n"
               "  - {id: cat, priority: 9, when: {category: 城乡建设/住房保障与房地产}, then: {lead: a}}\n"
               "  - {id: kw, priority: 9, when: {keywords: 漏水}, then: {lead: b}}\n"
               "  - {id: env, priority: 8, when: {category: 环境保护}, then: {lead: a}}\n"
               "  - {id: deep, priority: 8, when: {all: [{category: 城乡建设}]}, then: {lead: b}}\n"
               "  - {id: deep2, priority: 8, when: {all: [{keywords: 噪音}]}, then: {lead: b}}\n"
               "  - {id: wage, priority: 7, when: {keywords: [农民工工资, 欠薪]}, then: {lead: a}}\n"
               "  - {id: fee, priority: 7, when: {keywords: 物业, keywords_none: [工资, 欠薪]},\n"
               "     then: {lead: b}}\n"
               "  - {id: letter, priority: 6, when: {channel: LETTER}, then: {lead: a}}\n"
               "  - {id: other, priority: 6, when: {not: {channel: [LETTER, VISIT]}}, then: {lead: b}}\n"
               "  - {id: a12, priority: 5, when: {any: [{district: A1}, {district: A2}]},\n"
               "     then: {lead: a}}\n"
               "  - {id: a3, priority: 5, when: {district: A3}, then: {lead: b}}\n"
               "  - {id: s1, priority: 4, when: {street: X}, then: {lead: a}}\n"
               "  - {id: s2, priority: 4, when: {street: Y}, then: {lead: b}}\n"
               "  - {id: day, priority: 3, when: {hours: \"08:00-12:00\"}, then: {lead: a}}\n"
               "  - {id: night, priority: 3, when: {hours: \"22:00-08:00\"}, then: {lead: b}}\n"
               "  - {id: t1, priority: 2, when: {title_keywords: 社保}, then: {lead: a}}\n"
               "  - {id: t2, priority: 2, when: {keywords: 物业, title_keywords_none: 社保},\n"
               "     then: {lead: b}}\n"
               "  - {id: k1, priority: 1, when: {keywords: 社保}, then: {lead: a}}\n"
               "  - {id: k2, priority: 1, when: {keywords: 医保, title_keywords_none: 社保},\n"
               "     then: {lead: b}}\n",
               path, sizeof path);
    nerrors = ob_rules_check(path, s_test_diag, diag);
    assert(nerrors == 0);
    if (verbose)
        printf("\n%s", diag);
    fflush(stdout);
    assert(strstr(diag, "6:5: warning: rule 'kw' may overlap rule 'cat' (line 5) at the same "
                        "priority 9"));
    assert(strstr(diag, "9:5: warning: rule 'deep2' may overlap rule 'env' (line 7)"));
    assert(strstr(diag, "19:5: warning: rule 's2' may overlap rule 's1'"));  /* code and name */
    assert(strstr(diag, "26:5: warning: rule 'k2' may overlap rule 'k1'"));  /* 社保 in the content */
    const char *quiet[] = {"'deep'", "'fee'", "'other'", "'a3'", "'night'", "'t2'",
                           "not checked against a taxonomy"};
    for (size_t i = 0; i < sizeof quiet / sizeof quiet[0]; i++)
        assert(!strstr(diag, quiet[i]));
    unlink(path);
}

/* taxonomy.csv beside a file that names none, no taxonomy at all,
   `taxonomy: false`. */
static void s_test_check_taxonomy(const char *dir, char *diag, bool verbose)
{
    char path[512], tax[512], err[512];
    ob_rules_t *rules;
    int nerrors;
    /* No taxonomy named, none beside: a file-level warning, when the file
       has categories at all. */
    const char *body = "departments: [{id: a, name: A}]\n"
                       "rules:\n"
                       "  - {id: r, when: {category: 城乡建设/住房保障与房地产}, then: {lead: a}}\n";
    char text[1024];
    snprintf(text, sizeof text, "version: x-1\n%s", body);
    s_test_put(dir, "x.yaml", text, path, sizeof path);
    diag[0] = '\0';
    nerrors = ob_rules_check(path, s_test_diag, diag);
    assert(nerrors == 0);
    assert(strstr(diag, "0:0: warning: categories are not checked against a taxonomy") == diag);
    s_test_put(dir, "y.yaml", "version: y-1\ndepartments: [{id: a, name: A}]\n"
                              "rules: [{id: r, when: {keywords: x}, then: {lead: a}}]\n",
               path, sizeof path);
    diag[0] = '\0';
    nerrors = ob_rules_check(path, s_test_diag, diag);
    assert(nerrors == 0 && diag[0] == '\0');
    unlink(path);

    /* taxonomy.csv beside it: read, a category not in it is an error */
    s_test_put(dir, "taxonomy.csv", "一级,二级\n城乡建设,住房保障与房地产\n", tax, sizeof tax);
    snprintf(path, sizeof path, "%s/x.yaml", dir);
    diag[0] = '\0';
    nerrors = ob_rules_check(path, s_test_diag, diag);
    assert(nerrors == 0 && diag[0] == '\0');
    snprintf(text, sizeof text, "version: x-2\n%s"
                                "  - {id: r2, when: {category: 城乡建设/物业管理}, then: {lead: a}}\n",
             body);
    s_test_put(dir, "x.yaml", text, path, sizeof path);
    rules = ob_rules_load(path, err, sizeof err);
    assert(!rules);
    if (verbose)
        printf("\n    %s", err);
    fflush(stdout);
    assert(strstr(err, "x.yaml:5:31: category '城乡建设/物业管理' is not in the taxonomy "
                       "'taxonomy.csv'"));
    /* ... unless the file says its categories are free */
    snprintf(text, sizeof text, "version: x-3\ntaxonomy: false\n%s"
                                "  - {id: r2, when: {category: 城乡建设/物业管理}, then: {lead: a}}\n",
             body);
    s_test_put(dir, "x.yaml", text, path, sizeof path);
    rules = ob_rules_load(path, err, sizeof err);
    assert(rules);
    ob_rules_destroy(&rules);
    diag[0] = '\0';
    nerrors = ob_rules_check(path, s_test_diag, diag);
    assert(nerrors == 0 && diag[0] == '\0');
    /* a taxonomy.csv beside it that holds nothing: an error of the whole file */
    s_test_put(dir, "taxonomy.csv", "header only\n", tax, sizeof tax);
    snprintf(text, sizeof text, "version: x-4\n%s", body);
    s_test_put(dir, "x.yaml", text, path, sizeof path);
    rules = ob_rules_load(path, err, sizeof err);
    assert(!rules);
    size_t plen = strlen(path);
    assert(strncmp(err, path, plen) == 0
           && strcmp(err + plen, ": taxonomy 'taxonomy.csv' (beside the rule file) holds no "
                                 "category") == 0);
    diag[0] = '\0';
    nerrors = ob_rules_check(path, s_test_diag, diag);
    assert(nerrors == 1);
    assert(strstr(diag, "0:0: error: taxonomy 'taxonomy.csv' (beside the rule file)") == diag);
    s_test_put(dir, "x.yaml", "version: x-5\ntaxonomy: true\ndepartments: [{id: a, name: A}]\n",
               path, sizeof path);
    rules = ob_rules_load(path, err, sizeof err);
    assert(!rules);
    assert(strstr(err, "x.yaml:2:11: taxonomy must name a CSV file, or be false"));
    unlink(path);
    unlink(tax);
}

/* Check: rules of one priority with different decisions are left alone
   only when no order can match both (values on one field that do not
   meet, a keyword kept out, not:, any:), also across kinds and inside
   all:. The taxonomy: taxonomy.csv beside a file that names none, a
   warning when there is none, `taxonomy: false`. */
static void s_test_check(bool verbose)
{
    char dir[256];
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/ob_rules_check_XXXXXX", tmp && *tmp ? tmp : "/tmp");
    char *made = mkdtemp(dir);
    assert(made);
    char *diag = calloc(1, 8192);
    assert(diag);

    s_test_check_overlaps(dir, diag, verbose);
    s_test_check_taxonomy(dir, diag, verbose);
    int rc = rmdir(dir);
    assert(rc == 0);
    free(diag);
}

/* The file of s_test_file: look-ups, prefixes, priority, urgencies,
   districts, the catch-all. */
static void s_test_basics(void)
{
    char err[512];

    /* A missing file: message without line and column. */
    ob_rules_t *rules = ob_rules_load("/nonexistent/ob_rules.yaml", err, sizeof err);
    assert(rules == NULL);
    assert(strncmp(err, "/nonexistent/ob_rules.yaml: cannot open", 39) == 0);

    rules = s_test_load(s_test_file, err, sizeof err);
    if (!rules)
        printf("%s\n", err);
    assert(rules);
    assert(strcmp(ob_rules_version(rules), "2026-11-24.1") == 0);
    assert(ob_rules_utc_offset_min(rules) == 480);
    assert(ob_rules_dept_count(rules) == 4);
    assert(strcmp(ob_rules_dept_id(rules, 0), "housing") == 0);
    assert(strcmp(ob_rules_dept_name(rules, 1), "市物业管理办公室") == 0);
    assert(ob_rules_dept_id(rules, 4) == NULL);
    assert(strcmp(ob_rules_dept_lookup(rules, "hotline"), "热线中心综合科") == 0);
    assert(ob_rules_dept_lookup(rules, "police") == NULL);
    ob_limit_t sign, reply;
    ob_rules_default_deadlines(rules, &sign, &reply);
    assert(sign.days == 0 && sign.hours == 24 && reply.days == 15 && reply.hours == 0);

    ob_workorder_t order = ORDERBUS__V1__WORK_ORDER__INIT;
    Orderbus__V1__Location loc = ORDERBUS__V1__LOCATION__INIT;
    char *cats[3] = {(char *) "城乡建设", (char *) "物业管理", (char *) "物业服务"};
    order.category = cats;
    ob_route_t route;

    /* Longer prefix with higher priority wins: [城乡建设, 物业管理, 物业服务]. */
    order.n_category = 3;
    int rc = ob_rules_route(rules, &order, &route);
    assert(rc == 0);
    assert(route.matched);
    assert(strcmp(route.rule_id, "property") == 0);
    assert(strcmp(route.dept, "property") == 0);
    assert(route.sign_within.hours == 12);                      /* rule's own */
    assert(route.reply_within.days == 15 && route.reply_within.hours == 0);  /* defaults */
    order.urgency = ORDERBUS__V1__URGENCY__URGENCY_VERY_URGENT;
    ob_rules_route(rules, &order, &route);
    assert(route.sign_within.hours == 2);                       /* falls back to urgent */
    order.urgency = ORDERBUS__V1__URGENCY__URGENCY_NORMAL;

    /* [城乡建设] alone does not match "城乡建设/物业管理": the general rule. */
    order.n_category = 1;
    ob_rules_route(rules, &order, &route);
    assert(route.matched && strcmp(route.rule_id, "housing-urban") == 0);
    assert(strcmp(route.dept, "housing") == 0);
    assert(route.sign_within.hours == 24 && route.reply_within.days == 10 && route.reply_within.hours == 0);
    order.urgency = ORDERBUS__V1__URGENCY__URGENCY_URGENT;
    ob_rules_route(rules, &order, &route);
    assert(route.reply_within.days == 5);
    order.urgency = ORDERBUS__V1__URGENCY__URGENCY_VERY_URGENT;
    ob_rules_route(rules, &order, &route);
    assert(route.reply_within.days == 0 && route.reply_within.hours == 24);
    order.urgency = (Orderbus__V1__Urgency) 77;  /* unknown: normal */
    ob_rules_route(rules, &order, &route);
    assert(route.reply_within.days == 10);
    order.urgency = ORDERBUS__V1__URGENCY__URGENCY_NORMAL;

    /* District match and mismatch; no location at all. */
    order.location = &loc;
    loc.district_code = (char *) "A3";
    ob_rules_route(rules, &order, &route);
    assert(strcmp(route.rule_id, "a3-housing") == 0);
    assert(strcmp(route.dept, "a3-housing") == 0);
    loc.district_code = (char *) "A5";
    ob_rules_route(rules, &order, &route);
    assert(strcmp(route.rule_id, "housing-urban") == 0);
    loc.district_code = (char *) "";
    ob_rules_route(rules, &order, &route);
    assert(strcmp(route.rule_id, "housing-urban") == 0);
    /* Priority: the property rule (100) beats the district rule (50). */
    loc.district_code = (char *) "A4";
    order.n_category = 2;
    ob_rules_route(rules, &order, &route);
    assert(strcmp(route.rule_id, "property") == 0);
    order.location = NULL;

    /* Catch-all for any other category, and for no category at all. */
    cats[0] = (char *) "教育文体";
    ob_rules_route(rules, &order, &route);
    assert(route.matched && strcmp(route.rule_id, "catch-all") == 0);
    assert(strcmp(route.dept, "hotline") == 0);
    assert(route.reply_within.days == 0 && route.reply_within.hours == 48 && route.sign_within.hours == 24);
    order.n_category = 0;
    ob_rules_route(rules, &order, &route);
    assert(strcmp(route.rule_id, "catch-all") == 0);
    ob_rules_destroy(&rules);
    ob_rules_destroy(&rules);
    assert(rules == NULL);
}

/* No catch-all, no rules: manual routing with the default deadlines. */
static void s_test_defaults(void)
{
    char err[512];
    ob_rules_t *rules;
    ob_workorder_t order = ORDERBUS__V1__WORK_ORDER__INIT;
    char *cats[3] = {(char *) "城乡建设", (char *) "物业管理", (char *) "物业服务"};
    order.category = cats;
    order.urgency = ORDERBUS__V1__URGENCY__URGENCY_NORMAL;
    ob_route_t route;

    /* No catch-all: no match, default deadlines for manual routing. */
    rules = s_test_load("version: v1\n"
                        "departments: [{id: env, name: 市生态环境局}]\n"
                        "defaults: {sign_within: {normal: 2d, urgent: 4h}}\n"
                        "rules:\n"
                        "  - id: env\n"
                        "    when: {category: 环境保护}\n"
                        "    then: {lead: env}\n",
                        err, sizeof err);
    assert(rules);
    cats[0] = (char *) "交通运输";
    order.n_category = 1;
    ob_rules_route(rules, &order, &route);
    assert(!route.matched && route.rule_id[0] == '\0' && route.dept[0] == '\0');
    assert(route.sign_within.days == 2 && route.reply_within.days == 15);   /* 2d: two working days */
    order.urgency = ORDERBUS__V1__URGENCY__URGENCY_URGENT;
    ob_rules_route(rules, &order, &route);
    assert(route.sign_within.hours == 4);
    order.urgency = ORDERBUS__V1__URGENCY__URGENCY_NORMAL;
    cats[0] = (char *) "环境保护";
    ob_rules_route(rules, &order, &route);
    assert(route.matched && strcmp(route.dept, "env") == 0 && route.sign_within.days == 2);
    ob_rules_destroy(&rules);

    /* No rules at all: everything is manual. */
    rules = s_test_load("version: '1'\ntimezone: '-05:30'\ndepartments: [{id: a, name: A}]\n",
                        err, sizeof err);
    assert(rules);
    assert(ob_rules_utc_offset_min(rules) == -330);
    ob_rules_route(rules, &order, &route);
    assert(!route.matched && route.sign_within.hours == 24 && route.reply_within.days == 15);
    ob_rules_destroy(&rules);
}

/* Bad files: the first problem, with its line and column. */
static void s_test_bad_files(bool verbose)
{
    const char *head = "version: v1\ndepartments:\n  - {id: a, name: A}\n";
    char text[1024];
#define S_WITH_HEAD(tail) (snprintf(text, sizeof text, "%s%s", head, tail), text)
    S_TEST_BAD("", "1:1: ", "empty rule file");
    S_TEST_BAD("- a\n- b\n", "1:1: ", "must be a mapping");
    S_TEST_BAD("departments: [{id: a, name: A}]\n", "1:1: ", "missing required key 'version'");
    S_TEST_BAD("version: v1\n", "1:1: ", "missing required key 'departments'");
    S_TEST_BAD("version: v1\nversoin: v2\n", "2:1: ", "unknown key 'versoin'");
    S_TEST_BAD("version: v1\nversion: v2\n", "2:1: ", "duplicate key 'version'");
    S_TEST_BAD("version: [v1]\n", "1:10: ", "version must be a string");
    S_TEST_BAD("version: v1\ndepartments: {}\n", "2:14: ", "departments must be a list");
    S_TEST_BAD("version: v1\ndepartments:\n  - id: Housing\n    name: x\n", "3:9: ",
               "may hold only");
    S_TEST_BAD("version: v1\ndepartments:\n  - id: a\n    name: x\n  - id: a\n    name: y\n",
               "5:9: ", "duplicate department id 'a'");
    S_TEST_BAD("version: v1\ndepartments:\n  - id: a\n    nmae: x\n", "4:5: ",
               "unknown key 'nmae' in a department");
    S_TEST_BAD("version: v1\ndepartments:\n  - id: a\n", "3:5: ",
               "missing required key 'name'");
    S_TEST_BAD("version: v1\ntimezone: \"+25:00\"\ndepartments: [{id: a, name: A}]\n",
               "2:11: ", "bad timezone");
    S_TEST_BAD(S_WITH_HEAD("defaults: {sign_within: 24}\n"), "4:25: ", "bad duration '24'");
    S_TEST_BAD(S_WITH_HEAD("defaults: {reply_within: 1w}\n"), "4:26: ", "bad duration");
    S_TEST_BAD(S_WITH_HEAD("defaults: {reply_within: 999d}\n"), "4:26: ", "too long");
    S_TEST_BAD(S_WITH_HEAD("defaults: {reply_within: {urgent: 2d}}\n"), "4:26: ",
               "missing required key 'normal'");
    S_TEST_BAD(S_WITH_HEAD("defaults: {reply_within: {normal: 2d, urgnet: 1d}}\n"),
               "4:39: ", "unknown key 'urgnet'");
    S_TEST_BAD(S_WITH_HEAD("rules: {}\n"), "4:8: ", "rules must be a list");
    S_TEST_BAD(S_WITH_HEAD("rules:\n  - id: r1\n    then: {lead: b}\n"), "6:18: ",
               "lead department 'b' is not declared");
    S_TEST_BAD(S_WITH_HEAD("rules:\n  - id: r1\n    when: {}\n"), "5:5: ",
               "missing required key 'then'");
    S_TEST_BAD(S_WITH_HEAD("rules:\n  - then: {lead: a}\n"), "5:5: ",
               "missing required key 'id'");
    S_TEST_BAD(S_WITH_HEAD("rules:\n  - {id: r1, then: {lead: a}}\n"
                           "  - {id: r1, then: {lead: a}}\n"),
               "6:10: ", "duplicate rule id 'r1'");
    S_TEST_BAD(S_WITH_HEAD("rules:\n  - {id: r1, priority: high, then: {lead: a}}\n"),
               "5:24: ", "priority must be an integer");
    S_TEST_BAD(S_WITH_HEAD("rules:\n  - {id: r1, priority: '5', then: {lead: a}}\n"),
               "5:24: ", "priority must be an integer");
    S_TEST_BAD(S_WITH_HEAD("rules:\n  - id: r1\n    when:\n      category: []\n"
                           "    then: {lead: a}\n"),
               "7:17: ", "must not be an empty list");
    S_TEST_BAD(S_WITH_HEAD("rules:\n  - id: r1\n    when:\n      category: 城乡建设//物业\n"
                           "    then: {lead: a}\n"),
               "7:17: ", "empty level");
    S_TEST_BAD(S_WITH_HEAD("rules:\n  - id: r1\n    when:\n      category: {a: b}\n"
                           "    then: {lead: a}\n"),
               "7:17: ", "string or a list of strings");
    S_TEST_BAD(S_WITH_HEAD("rules:\n  - id: r1\n    when:\n      district: [A3, [A4]]\n"
                           "    then: {lead: a}\n"),
               "7:22: ", "district must be a string");
    S_TEST_BAD(S_WITH_HEAD("rules:\n  - id: r1\n    when:\n      complainant: x\n"
                           "    then: {lead: a}\n"),
               "7:7: ", "reserved for a later release");
    S_TEST_BAD(S_WITH_HEAD("rules:\n  - id: r1\n    when:\n      catgory: 城乡建设\n"
                           "    then: {lead: a}\n"),
               "7:7: ", "unknown key 'catgory' in when");
    S_TEST_BAD(S_WITH_HEAD("rules:\n  - id: r1\n    then: {lead: a, sign_within: 2x}\n"),
               "6:34: ", "bad duration '2x'");
    /* Chinese text before the error: columns count characters. */
    S_TEST_BAD("version: v1\ndepartments:\n  - {id: a, name: 市住建局, x: 1}\n", "3:25: ",
               "unknown key 'x'");
    /* YAML syntax errors, aliases, several documents. */
    S_TEST_BAD("version: v1\ndepartments: [a\n", "3:1: ", "invalid YAML");
    S_TEST_BAD("version: &v v1\ndepartments: *v\n", "2:14: ", "aliases");
    S_TEST_BAD("version: v1\ndepartments: [{id: a, name: A}]\n---\nversion: v2\n", "3:1: ",
               "only one YAML document");
    S_TEST_BAD("version: [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"
               "]]]]]]]]\n",
               "1:", "nesting deeper");
    S_TEST_BAD("? [a, b]\n: c\n", "1:3: ", "mapping keys must be strings");
    /* Not UTF-8: a Latin-1 byte, a UTF-16 file, a NUL byte. */
    S_TEST_BAD("version: v1\ndepartments: [{id: a, name: caf\xe9}]\n", "2:", "not valid UTF-8");
    s_test_bad("\xff\xfev\0e\0r\0", 8, "1:1: ", "not valid UTF-8", verbose);
    s_test_bad("version: v\0\n", 12, "1:", "control characters", verbose);
    S_TEST_BAD("version: \"v\\0\"\ndepartments: [{id: a, name: A}]\n", "1:10: ", "NUL");
#undef S_WITH_HEAD
}

/* The shipped default rules, when run from the source tree. */
static void s_test_shipped(void)
{
    char err[512];
    ob_workorder_t order = ORDERBUS__V1__WORK_ORDER__INIT;
    char *cats[3] = {(char *) "城乡建设", (char *) "物业管理", (char *) "物业服务"};
    order.category = cats;
    order.urgency = ORDERBUS__V1__URGENCY__URGENCY_NORMAL;
    ob_route_t route;

    if (access("router-rules/default.yaml", R_OK) == 0) {
        ob_rules_t *rules = ob_rules_load("router-rules/default.yaml", err, sizeof err);
        if (!rules)
            printf("%s\n", err);
        assert(rules);
        assert(ob_rules_dept_count(rules) == 7);
        static const char *expect[][2] = {
            {"劳动和社会保障", "hrss"}, {"城乡建设", "housing"},   {"教育文体", "education"},
            {"卫生计生", "health"},     {"交通运输", "transport"}, {"商贸旅游", "commerce"},
            {"环境保护", "environment"}};
        order.n_category = 1;
        for (size_t i = 0; i < sizeof expect / sizeof expect[0]; i++) {
            assert(ob_rules_dept_lookup(rules, expect[i][1]));
            cats[0] = (char *) expect[i][0];
            ob_rules_route(rules, &order, &route);
            assert(route.matched && strcmp(route.dept, expect[i][1]) == 0);
            assert(route.sign_within.days == 1 && route.reply_within.days >= 10
                   && route.reply_within.days <= 15);   /* sign: one working day */
        }
        cats[0] = (char *) "政法监察";
        ob_rules_route(rules, &order, &route);
        assert(!route.matched);
        ob_rules_destroy(&rules);
    }
}

void ob_rules_test(bool verbose)
{
    s_test_basics();
    s_test_defaults();
    s_test_bad_files(verbose);
    s_test_shipped();
    s_test_engine(verbose);
    s_test_title(verbose);
    s_test_check(verbose);
    if (verbose)
        printf("\n    ");
}
