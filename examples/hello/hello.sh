#!/bin/sh
echo "hello from $(cat /app/stamp.txt)"
