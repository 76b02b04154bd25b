# Sourced by scripts/config-doc.sh and scripts/rpc-contract.sh: a generated
# table between two marker lines of a Markdown file.
#
#   doc_table_render FILE BEGIN END TABLE   FILE with TABLE between the lines
#                                           BEGIN and END (stdout)
#   doc_table_check NAME FILE BEGIN END TABLE HINT
#                                           0 when FILE already holds TABLE;
#                                           otherwise prints the difference
#                                           and HINT, and returns 1

doc_table_render() {
	awk -v b="$2" -v e="$3" -v t="$4" '
		$0 == b { print; print t; skip = 1; next }
		$0 == e { skip = 0 }
		!skip { print }' "$1"
}

doc_table_check() {
	local name=$1 file=$2
	if ! diff -u "$file" <(doc_table_render "$2" "$3" "$4" "$5") >/dev/null; then
		echo "$name: $(basename "$file")'s generated table is out of date:"
		diff -u "$file" <(doc_table_render "$2" "$3" "$4" "$5") | sed 's/^/  /' | head -n 40
		echo "  ($6)"
		return 1
	fi
}
