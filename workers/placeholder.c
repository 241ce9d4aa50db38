/* placeholder */
typedef int pgkb_workers_placeholder;
