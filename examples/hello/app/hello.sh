#!/bin/sh
echo "hello from stapelkit:"
cat "$GREETING_FILE"
