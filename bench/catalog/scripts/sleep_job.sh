#!/usr/bin/env bash
sleep "$DURATION"
echo "slept $DURATION s"
