/* pgkb CLI (placeholder while the foundation lands). */
int main(void) { return 0; }
