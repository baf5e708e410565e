/* The module list nginx's dlopen() looks for in a dynamic module (what `configure
 * --add-dynamic-module` would generate as ngx_<name>_modules.c). */
#include <ngx_config.h>
#include <ngx_core.h>

extern ngx_module_t ngx_http_lingmo_module;

ngx_module_t *ngx_modules[] = {&ngx_http_lingmo_module, NULL};
char *ngx_module_names[] = {"ngx_http_lingmo_module", NULL};
char *ngx_module_order[] = {NULL};
