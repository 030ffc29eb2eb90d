/*
 * pypm native plugin ABI, version 1.
 *
 * A native plugin is a shared library (pypm_<name>.so, .dylib or .dll) that pypm loads
 * with dlopen / LoadLibrary (Python's ctypes). It exports, with C linkage:
 *
 *   pypm_plugin_abi_version   required; returns PYPM_PLUGIN_ABI_VERSION it was built for.
 *                             pypm refuses a library that lacks it or returns another value.
 *   pypm_plugin_main          called by `pypm plugin run NAME ARGS...`; argv[0] is NAME,
 *                             argv[argc] is NULL; the return value is pypm's exit code.
 *   pypm_hook                 optional; called at each lifecycle stage of a run that uses
 *                             the plugin ([tool.pypm] plugins = ["NAME"]): stage is one of
 *                             the PYPM_STAGE_* strings, context_json a UTF-8 JSON object
 *                             (see docs/plugins.md). Return 0 to go on; any other value
 *                             stops the run (pypm exits 3, naming the plugin and stage).
 *
 * Both strings passed to pypm_hook are owned by pypm and valid only during the call.
 * pypm calls a plugin from one thread at a time. Stable: a change to any of this is a
 * new ABI version; additions (new optional symbols, new stages, new context keys) are not.
 */
#ifndef PYPM_PLUGIN_H
#define PYPM_PLUGIN_H

#define PYPM_PLUGIN_ABI_VERSION 1

#define PYPM_STAGE_PRE_LOCK "pre-lock"
#define PYPM_STAGE_POST_LOCK "post-lock"
#define PYPM_STAGE_PRE_SYNC "pre-sync"
#define PYPM_STAGE_POST_SYNC "post-sync"
#define PYPM_STAGE_PRE_BUNDLE "pre-bundle"
#define PYPM_STAGE_POST_BUNDLE "post-bundle"
#define PYPM_STAGE_PRE_RUN "pre-run"
#define PYPM_STAGE_PRE_TASK "pre-task"
#define PYPM_STAGE_POST_TASK "post-task"

#if defined(_WIN32)
#define PYPM_EXPORT __declspec(dllexport)
#else
#define PYPM_EXPORT __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

PYPM_EXPORT int pypm_plugin_abi_version(void);
PYPM_EXPORT int pypm_plugin_main(int argc, char **argv);
PYPM_EXPORT int pypm_hook(const char *stage, const char *context_json);

#ifdef __cplusplus
}
#endif

#endif /* PYPM_PLUGIN_H */
