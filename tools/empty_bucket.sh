#!/usr/bin/env bash
# Empties versioned S3 buckets so that Terraform can delete them: it refuses a bucket that still holds
# objects or old versions, and the artifacts buckets are not force-destroyed, on purpose. Deletes every
# object version and delete marker, a page of at most 1,000 at a time (delete-objects' limit), until
# none is left. A bucket that no longer exists is already done (a teardown run again after a failure).
#
#   tools/empty_bucket.sh BUCKET [BUCKET...]
#
# Needs the AWS CLI, jq, and credentials that may list and delete object versions.
set -euo pipefail

if [ "$#" -eq 0 ]; then
  echo "usage: tools/empty_bucket.sh BUCKET [BUCKET...]" >&2
  exit 2
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# One ListObjectVersions call (--no-paginate: the CLI would otherwise page on), which returns at
# most 1,000 versions and delete markers together; cut to 1,000 all the same, as the request file of
# delete-objects (a file: 1,000 keys can be longer than one command-line argument may be).
next_page() {
  local bucket="$1"
  aws s3api list-object-versions --bucket "$bucket" --no-paginate --output json \
    --query '{Objects: [Versions, DeleteMarkers][][].{Key: Key, VersionId: VersionId}}' 2> "$work/error" |
    jq -c '{Objects: ((.Objects // [])[:1000]), Quiet: true}' > "$work/page.json"
}

empty() {
  local bucket="$1" count deleted=0
  while :; do
    if ! next_page "$bucket"; then
      if grep -q NoSuchBucket "$work/error"; then
        echo "$bucket: no such bucket (already deleted)"
        return 0
      fi
      cat "$work/error" >&2
      return 1
    fi
    count="$(jq '.Objects | length' "$work/page.json")"
    if [ "$count" -eq 0 ]; then
      break
    fi
    # Quiet: the answer lists only the keys that could not be deleted.
    aws s3api delete-objects --bucket "$bucket" --delete "file://$work/page.json" --output json > "$work/result.json"
    if [ -s "$work/result.json" ] && jq -e '(.Errors // []) != []' "$work/result.json" > /dev/null; then
      echo "error: $bucket: versions that could not be deleted:" >&2
      jq -r '.Errors[] | "  \(.Key) \(.VersionId): \(.Code) \(.Message)"' "$work/result.json" >&2
      return 1
    fi
    deleted=$((deleted + count))
  done
  echo "$bucket: empty ($deleted object versions and delete markers deleted)"
}

for bucket in "$@"; do
  empty "$bucket"
done
